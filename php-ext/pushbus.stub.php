<?php

/**
 * The PHP API of the pushbus extension. This file is the source of truth:
 * pushbus_arginfo.h is generated from it (php-ext/scripts/gen-arginfo.sh) and
 * committed; the test script regenerates it and fails on any difference.
 *
 * @generate-class-entries
 */

namespace Pushbus {

    /** The version of libpushbus linked into the extension, e.g. "0.1.0". */
    function version(): string {}

    /**
     * Thrown by every failing call of the extension. getCode() is the library's
     * result code (one of the constants below, stable numbers); getMessage() its
     * detailed message.
     */
    class Exception extends \RuntimeException
    {
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_PANIC
         */
        public const PANIC = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_NULL_PARAMETER
         */
        public const NULL_PARAMETER = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_UTF8
         */
        public const INVALID_UTF8 = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_ARGUMENT
         */
        public const INVALID_ARGUMENT = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_RUNTIME
         */
        public const RUNTIME = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_FORKED
         */
        public const FORKED = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_TIMEOUT
         */
        public const TIMEOUT = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_CLOSED
         */
        public const CLOSED = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_SIGNATURE
         */
        public const INVALID_SIGNATURE = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_CONFIG
         */
        public const CONFIG = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_UNKNOWN_APP
         */
        public const UNKNOWN_APP = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_APP_DISABLED
         */
        public const APP_DISABLED = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_CHANNEL
         */
        public const INVALID_CHANNEL = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_NO_CHANNELS
         */
        public const NO_CHANNELS = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_TOO_MANY_CHANNELS
         */
        public const TOO_MANY_CHANNELS = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_ENCRYPTED_WITH_OTHERS
         */
        public const ENCRYPTED_WITH_OTHERS = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_EVENT_NAME
         */
        public const INVALID_EVENT_NAME = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_DATA_TOO_LARGE
         */
        public const DATA_TOO_LARGE = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_SOCKET_ID
         */
        public const INVALID_SOCKET_ID = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_BATCH_TOO_LARGE
         */
        public const BATCH_TOO_LARGE = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_NOT_PRESENCE_CHANNEL
         */
        public const NOT_PRESENCE_CHANNEL = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_BIND
         */
        public const BIND = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_ALREADY_STARTED
         */
        public const ALREADY_STARTED = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_NOT_RUNNING
         */
        public const NOT_RUNNING = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_CONNECT
         */
        public const CONNECT = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_HTTP_STATUS
         */
        public const HTTP_STATUS = UNKNOWN;
        /**
         * @var int
         * @cvalue PUSHBUS_RESULT_INVALID_RESPONSE
         */
        public const INVALID_RESPONSE = UNKNOWN;
    }

    /**
     * Signatures, as an auth endpoint needs them. Pure functions: no I/O, no threads.
     *
     * @not-serializable
     */
    final class Auth
    {
        /**
         * The JSON body of a channel authorization answer, exactly what pusher-js and
         * Echo expect from /broadcasting/auth: {"auth":"key:sig"}, with "channel_data"
         * for presence channels (required there; signed as given, byte for byte) and
         * "shared_secret" for private-encrypted- channels (needs the master key).
         */
        public static function authorizeChannel(
            string $key,
            string $secret,
            string $socketId,
            string $channel,
            ?string $channelData = null,
            ?string $encryptionMasterKeyBase64 = null
        ): string {}

        /**
         * The JSON body of a user authentication answer (/broadcasting/user-auth):
         * {"auth":"key:sig","user_data":"..."}. $userData is the user JSON as sent
         * (signed byte for byte), or an array json_encode()d here; it must hold an id.
         */
        public static function authenticateUser(string $key, string $secret, string $socketId, string|array $userData): string {}

        /**
         * Whether a webhook request is genuine: $keyHeader (X-Pusher-Key) is the app's
         * key and $signatureHeader (X-Pusher-Signature) the HMAC of the raw body.
         * Compared in constant time.
         */
        public static function verifyWebhook(
            string $key,
            string $secret,
            string $keyHeader,
            string $signatureHeader,
            string $body
        ): bool {}

        /** The shared_secret of a private-encrypted- channel (base64). */
        public static function sharedSecret(string $channel, string $encryptionMasterKeyBase64): string {}

        /**
         * The data to publish on a private-encrypted- channel:
         * {"nonce":"...","ciphertext":"..."}. $nonce (24 bytes) is for reproducible
         * tests only; leave it null for a fresh random nonce.
         */
        public static function encryptData(
            string $channel,
            string $encryptionMasterKeyBase64,
            string $plaintext,
            ?string $nonce = null
        ): string {}

        /**
         * Signs an HTTP API request: the complete query string to append after "?",
         * auth_signature last. $query holds the other parameters; $timestamp 0 is now.
         */
        public static function signRequest(
            string $key,
            string $secret,
            string $method,
            string $path,
            array $query = [],
            string $body = "",
            int $timestamp = 0
        ): string {}
    }

    /**
     * A client of the Pusher HTTP API, for pushbus or any Pusher-compatible server.
     * Its connection stays open between calls and, by default, between requests of
     * the same PHP process (an FPM worker): clients made with the same options share
     * one native client. After fork() it rebuilds its native client in the child.
     *
     * trigger() is queued by default: it checks its arguments, writes the request on
     * the kept-open connection (in order) and returns without waiting for the answer,
     * which is read later. A failed delivery is thrown by the next trigger() or
     * flush(), or reported as a warning at the end of the request.
     *
     * @not-serializable
     */
    final class Client
    {
        /**
         * Options: app_id, key, secret (required); host ("127.0.0.1"), port (80, or
         * 443 for https), scheme ("http" or "https"; useTLS also accepted), timeout
         * (seconds, default 5), encryption_master_key_base64, persistent (true),
         * queued (true: trigger() does not wait for the server).
         */
        public function __construct(array $options) {}

        /**
         * Triggers $event on one channel or a list of them (at most 100). $data is
         * sent verbatim when it is a string and json_encode()d otherwise. $socketId
         * excludes that connection (toOthers()). Queued unless the client was made
         * with queued => false; throws at once for refused arguments, and for an
         * earlier queued trigger that failed.
         */
        public function trigger(string|array $channels, string $event, mixed $data, ?string $socketId = null): void {}

        /**
         * Waits until every queued trigger is answered (up to $timeout seconds; default
         * the client's timeout) and throws if any failed, or if some are still not
         * answered then.
         */
        public function flush(?float $timeout = null): void {}

        /**
         * Triggers several events in one request. Each event is an array with
         * channel, name, data and optionally socket_id.
         */
        public function triggerBatch(array $events): void {}

        /** Sends $event to every connection signed in as $userId. */
        public function sendToUser(string $userId, string $event, mixed $data): void {}

        /** GET /channels: the decoded answer, e.g. ["channels" => ["orders" => []]]. */
        public function channels(?string $prefix = null, ?string $info = null): array {}

        /** GET /channels/{name}: the decoded answer, e.g. ["occupied" => true]. */
        public function channel(string $channel, ?string $info = null): array {}

        /** GET /channels/{name}/users: the decoded answer, ["users" => [["id" => "1"]]]. */
        public function users(string $channel): array {}

        /** Closes every connection of the user on the server. */
        public function terminateUserConnections(string $userId): void {}

        /**
         * GET /users/{id} (pushbus): the user's status, in the shape of
         * Server::userStatus(): ["id" => "7", "online" => true, "connections" => 1, "channels" => [...], ...].
         */
        public function userStatus(string $userId): array {}

        /**
         * GET /users (pushbus): a page of the online users, as Server::onlineUsers():
         * ["users" => [["id" => "7", "connections" => 1], ...], "next" => "7"].
         */
        public function onlineUsers(string $after = "", int $limit = 100): array {}

        /**
         * POST /users/{id}/location (pushbus): sets (null: clears) an online user's
         * location; whether the user was online.
         */
        public function setUserLocation(string $userId, ?string $location): bool {}

        /**
         * GET /delivery_log (pushbus): the newest records of the app's delivery log,
         * newest first, as Server::deliveryLog() gives them (the list, not the answer's
         * "events" wrapper). $limit 1 to the log's size (0: the server's default).
         */
        public function deliveryLog(int $limit = 100): array {}

        /**
         * GET /channels/{channel}/events (pushbus): a history channel's kept events after
         * serial $since, oldest first, at most $limit (1 to 1000; 0: the server's
         * default), as Server::history() gives them.
         */
        public function history(string $channel, int $since = 0, int $limit = 100): array {}
    }

    /**
     * An embedded pushbus server, running on the library's threads inside this PHP
     * process. Lifecycle events are queued and handed to PHP only by poll(), on the
     * PHP thread.
     *
     * @not-serializable
     */
    final class Server
    {
        /**
         * $config is the JSON config of the README as an array:
         * ["host" => "127.0.0.1", "port" => 0, "apps" => [["id" => ..., "key" => ..., "secret" => ...]]].
         * Nothing listens until start().
         */
        public function __construct(array $config) {}

        /** Starts listening; $address "host:port" overrides the config. Returns the bound port. */
        public function start(?string $address = null): int {}

        /** The bound port, or null before start(). */
        public function port(): ?int {}

        /**
         * Publishes to the server's own clients, in-process. $data as in
         * Client::trigger. $appId defaults to the first app of the config.
         */
        public function publish(string|array $channels, string $event, mixed $data, ?string $socketId = null, ?string $appId = null): void {}

        /**
         * Waits up to $timeoutMs for lifecycle events and returns those available (at
         * most $max), oldest first, each an array with name, app_id and the fields of
         * its kind (channel, user_id, socket_id, event, data, lost). [] on timeout.
         */
        public function poll(int $timeoutMs = 0, int $max = 100): array {}

        /** Occupied channels by name: ["orders" => ["name" => "orders", "occupied" => true, "subscription_count" => 1], ...] (plus "user_count" on presence channels, "cache" => ["data" => ..., "ttl" => ...] on cache channels that keep an event). */
        public function channels(?string $prefix = null, ?string $appId = null): array {}

        /** One channel: occupied, subscription_count and, for presence, user_count. */
        public function channel(string $channel, ?string $appId = null): array {}

        /** The members of a presence channel, sorted by id: [["id" => "1", "info" => [...]], ["id" => "2"], ...] ("info": the member's user_info, when it had one). */
        public function members(string $channel, ?string $appId = null): array {}

        /** The number of live connections of the app. */
        public function connectionCount(?string $appId = null): int {}

        /** Counters of the app's webhooks since start: ["requests" => …, "sent" => …, "failures" => …, "dropped" => …] (zeros without targets). */
        public function webhookStats(?string $appId = null): array {}

        /**
         * Reads the TLS certificate and key files again (after a renewal): new connections
         * get the new certificate, open ones keep theirs. Throws (RESULT_CONFIG) when the
         * new files are unusable; the certificate in use then stays.
         */
        public function reloadTls(): void {}

        /** The metrics in the OpenMetrics text format, as GET /metrics answers (throws RESULT_CONFIG when metrics are off). */
        public function metricsText(): string {}

        /** Closes every connection of the user; returns how many. */
        public function terminateUserConnections(string $userId, ?string $appId = null): int {}

        /**
         * One user's status, cluster-wide: ["id" => "7", "online" => true, "connections" => 2,
         * "channels" => ["presence-chat.1"], "location" => "Projects", "info" => [...]].
         * Online while a connection is signed in or present in a presence channel as the
         * user; "channels": their presence channels; "location" and "info" (the user_info
         * they first connected with) while online, when there is one; "last_seen"
         * (milliseconds since the epoch) once offline, while it is kept.
         */
        public function userStatus(string $userId, ?string $appId = null): array {}

        /**
         * A page of the app's online users, sorted by id: ["users" => [["id" => "7",
         * "connections" => 2, "location" => ..., "info" => [...]], ...], "next" => "7"].
         * $after is the previous page's "next" ("" for the first page), $limit 1 to 1000;
         * "next" is there only when more users follow.
         */
        public function onlineUsers(string $after = "", int $limit = 100, ?string $appId = null): array {}

        /**
         * Sets (null: clears) the location of an online user, shown in their status
         * until they go offline. Returns whether the user was online (an offline
         * user's location is not kept).
         */
        public function setUserLocation(string $userId, ?string $location, ?string $appId = null): bool {}

        /**
         * The newest records of the app's delivery log, newest first, at most $limit (1 to
         * the log's size): [["id" => "1", "time" => 1733300000000, "channel" => "orders",
         * "event" => "paid", "size" => 7, "digest" => "9f86…", "delivered" => 2, "nodes" => 1,
         * "except" => "123.456", "source" => "api"], ...]. "digest" is the data's SHA-256
         * (hex), or "data" the data itself with delivery_log.payloads "payload";
         * "delivered" the connections it reached on "nodes" nodes, cluster-wide;
         * "except" the socket the publisher excluded, when there was one; "source" "api"
         * or "client" (a client event, with the sender's "user_id" on presence channels).
         * [] when the app's log is off (size 0).
         */
        public function deliveryLog(int $limit = 100, ?string $appId = null): array {}

        /**
         * A history channel's kept events (a channel one of the app's "history" rules
         * names) after serial $since (0: from the first kept), oldest first, at most
         * $limit (1 to 1000): ["channel" => "activity", "epoch" => "b3f1…", "serial" => 7,
         * "events" => [["serial" => 7, "time" => 1733300000120, "event" => "Updated",
         * "data" => "{\"n\":7}"]]]. "serial" is the channel's last (0: none yet);
         * "epoch" changes whenever its history started over, absent while it has none;
         * "time" is in milliseconds since the Unix epoch; "data" the data string as
         * published.
         */
        public function history(string $channel, int $since = 0, int $limit = 100, ?string $appId = null): array {}

        /** Stops gracefully: clients are told to reconnect (4200). */
        public function stop(): void {}
    }
}
