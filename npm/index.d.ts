// Types of the public API (index.js). Hand-written; the shapes the native addon returns
// come from the generated native.d.ts, so the two cannot drift apart silently.
import { EventEmitter } from 'node:events';
import type { ChannelAuth, ChannelHistory, ChannelInfo, DeliveryRecord, HistoryEvent, Member, OnlineUser, OnlineUsers, ServerAddress, UserAuth, UserStatus } from './native';

export type { ChannelAuth, ChannelHistory, ChannelInfo, DeliveryRecord, HistoryEvent, Member, OnlineUser, OnlineUsers, ServerAddress, UserAuth, UserStatus };

/**
 * The version of pushbus, e.g. `"0.1.0"`: the number the `pushbus` binary, the C library
 * and the PHP extension report too, and this package's own version.
 */
export declare const version: string;

/**
 * Every error this package throws or rejects with is an `Error` with one of these codes
 * (plus `message`, and `cause` for a failed bind). See README.md for what each means.
 * They are the words of the C library's result codes (`PUSHBUS_RESULT_<CODE>`) and of
 * the PHP extension's `Pushbus\Exception::<CODE>` constants.
 */
export type ErrorCode =
  // arguments and configuration
  | 'INVALID_ARGUMENT'
  | 'CONFIG'
  // publishing and queries (the HTTP API's checks)
  | 'UNKNOWN_APP'
  | 'APP_DISABLED'
  | 'INVALID_CHANNEL'
  | 'NO_CHANNELS'
  | 'TOO_MANY_CHANNELS'
  | 'ENCRYPTED_WITH_OTHERS'
  | 'INVALID_EVENT_NAME'
  | 'DATA_TOO_LARGE'
  | 'INVALID_SOCKET_ID'
  | 'BATCH_TOO_LARGE'
  | 'NOT_PRESENCE_CHANNEL'
  // server lifecycle
  | 'BIND'
  | 'ALREADY_STARTED'
  | 'NOT_RUNNING'
  // REST client
  | 'CONNECT'
  | 'TIMEOUT'
  | 'HTTP_STATUS'
  | 'INVALID_RESPONSE'
  // a bug in pushbus (a Rust panic, caught)
  | 'PANIC'
  // the native addon is missing (not built for this platform)
  | 'ADDON_NOT_FOUND';

export interface PushbusError extends Error {
  code: ErrorCode;
  /** `HTTP_STATUS`: the response status. */
  status?: number;
  /** `HTTP_STATUS`: the response body. */
  body?: string;
  /** `BIND`: the OS error, with its errno name as `code` (`EADDRINUSE`, `EACCES`, …). */
  cause?: Error & { code: string };
}

/** One app (tenant) of a server: the `apps` entries of the JSON config (README.md). */
export interface AppOptions {
  id: string;
  key: string;
  secret: string;
  enabled?: boolean;
  max_connections?: number | null;
  allowed_origins?: string[];
  activity_timeout?: number;
  ping_interval?: number;
  pong_timeout?: number;
  max_message_size?: number;
  max_event_data?: number;
  max_channels_per_event?: number;
  max_batch_size?: number;
  max_channel_name_length?: number;
  max_event_name_length?: number;
  max_presence_members?: number;
  max_user_info_size?: number;
  max_subscriptions_per_connection?: number;
  client_events?: boolean;
  client_events_on_public?: boolean;
  client_event_rate?: number;
  user_authentication?: boolean;
  cache_ttl?: number;
  cache_max_bytes?: number;
  outbound_queue?: number;
  /** Log every frame of the app's connections on stderr (the server's `Pusher.logToConsole`). */
  debug?: boolean;
  /** Webhook targets (README.md, "Webhooks"). */
  webhooks?: WebhookTarget[];
  webhook_options?: WebhookOptions;
}

export interface WebhookTarget {
  url: string;
  event_types?: string[];
  filter?: { channel_name_starts_with?: string; channel_name_ends_with?: string };
  headers?: Record<string, string>;
  /** A PEM file of CA certificates also trusted for an `https://` target. */
  ca_file?: string;
}

export interface WebhookOptions {
  batch_window?: number;
  batch_max_events?: number;
  delay?: number;
  timeout?: number;
  retry_for?: number;
  max_queued_events?: number;
  max_queued_bytes?: number;
}

/** Prometheus metrics on `GET /metrics` (README.md, "Operations"). */
export interface MetricsOptions {
  enabled?: boolean;
  /** The bearer token a scrape sends; required for metrics on the server's own port. */
  token?: string | null;
  /** A separate `host:port` serving `/metrics`, `/up` and `/ready` only. */
  address?: string | null;
}

/** The JSON config of `pushbus serve --config` (README.md), as an object. */
export interface ServerOptions {
  apps: AppOptions[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port (see `server.port`). */
  port?: number;
  path?: string;
  max_request_size?: number;
  timestamp_window?: number;
  shutdown_grace?: number;
  /** Seconds `/ready` answers 503 at shutdown before connections are closed with 4200. */
  drain_delay?: number;
  event_buffer?: number;
  metrics?: MetricsOptions;
  /** wss:// and https:// on the server's own port: PEM files, read at start (README.md, "TLS"). */
  tls?: { cert: string; key: string };
  /** The debug console at `{path}/console` (README.md, "Debug console"); the token is required when enabled, at least 8 characters. */
  console?: { enabled?: boolean; token?: string };
  /** Run as one node of a cluster on Redis (README.md, "Scaling"). */
  cluster?: ClusterOptions;
  /** `webhook`: the events are emitted as webhooks see them (delayed removals, no reloads, no connection events). Default `all`. */
  lifecycle_events?: 'all' | 'webhook';
}

/** How a node joins its cluster; every node of one deployment gives the same. */
export interface ClusterOptions {
  /** Default `redis://127.0.0.1:6379`. */
  redis_url?: string;
  /** Key and pub/sub prefix; default `reverb`. */
  prefix?: string;
  /** Seconds after which the other nodes remove a node that vanished; default 15. */
  node_lease?: number;
}

/** Which app of the server a call is about; needed only when it has several. */
export interface AppSelector {
  appId?: string;
}

export interface PublishOptions extends AppSelector {
  /** The connection that caused the event (Laravel's `toOthers()`): it does not get it. */
  exceptSocketId?: string;
}

/** Which page of the online users: after the id `after`, at most `limit` (1 to 1000, default 100). */
export interface OnlineUsersOptions {
  after?: string;
  limit?: number;
}

/** How many delivery log records: `limit`, 1 to 1000 (default 100; a log keeping fewer gives what it keeps). */
export interface DeliveryLogOptions {
  limit?: number;
}

/** Which kept events of a history channel: after serial `since` (default 0), at most `limit` (1 to 1000, default 100). */
export interface HistoryOptions {
  since?: number;
  limit?: number;
}

/** Channel names: one, or an array (at most 100 per event). */
export type Channels = string | string[];

interface EventBase {
  appId: string;
}
export interface ConnectionEvent extends EventBase {
  name: 'connection_opened' | 'connection_closed';
  socketId: string;
}
export interface ChannelEvent extends EventBase {
  name: 'channel_occupied' | 'channel_vacated';
  channel: string;
}
export interface MemberEvent extends EventBase {
  name: 'member_added' | 'member_removed';
  channel: string;
  userId: string;
}
export interface ClientEvent extends EventBase {
  name: 'client_event';
  channel: string;
  /** The client event's name (`client-…`). */
  event: string;
  /** Its data as the client sent it (a JSON text for an object). */
  data: string;
  socketId: string;
  /** The sender's user id on presence channels. */
  userId?: string;
}
export interface CacheMissEvent extends EventBase {
  name: 'cache_miss';
  channel: string;
}
export interface SubscriptionCountEvent extends EventBase {
  name: 'subscription_count';
  channel: string;
  subscriptionCount: number;
}
export interface UserStatusEvent extends EventBase {
  name: 'user_online' | 'user_offline';
  userId: string;
}
export interface EventLoggedEvent extends EventBase {
  name: 'event_logged';
  channel: string;
  /** The published event's name. */
  event: string;
  /** The delivery log's record of it, with this node's deliveries. */
  record: DeliveryRecord;
}
export interface LaggedEvent {
  name: 'lagged';
  /** Lifecycle events dropped because listeners fell more than `event_buffer` behind. */
  missed: number;
}

export interface ServerEvents {
  connection_opened: [ConnectionEvent];
  connection_closed: [ConnectionEvent];
  channel_occupied: [ChannelEvent];
  channel_vacated: [ChannelEvent];
  /** A user's first connection joined a presence channel (once per user, not per tab). */
  member_added: [MemberEvent];
  /** A user's last connection left a presence channel. */
  member_removed: [MemberEvent];
  client_event: [ClientEvent];
  /** A subscriber of a cache channel found nothing kept. */
  cache_miss: [CacheMissEvent];
  /** Only for apps with a webhook target that asks for `subscription_count`. */
  subscription_count: [SubscriptionCountEvent];
  /** A user's first connection signed in, or joined a presence channel as them. */
  user_online: [UserStatusEvent];
  /** A user's last connection ended and they stayed away for `user_status.offline_delay`. */
  user_offline: [UserStatusEvent];
  /** A published event was recorded in the delivery log; only with `delivery_log.events`. */
  event_logged: [EventLoggedEvent];
  lagged: [LaggedEvent];
  /** After `stop()`. */
  close: [];
}

/**
 * An embedded pushbus server, serving pusher-js and Laravel Echo clients (WebSocket) and
 * the Pusher HTTP API on one port. Lifecycle events are emitted on the JavaScript thread.
 *
 * Like `net.Server`, a started server keeps the process alive until `stop()` unless
 * `unref()`'d; an unref'd server that is garbage-collected shuts itself down.
 */
export declare class Server extends EventEmitter {
  constructor(options: ServerOptions);
  /** Bound host and port once started, else null. */
  readonly host: string | null;
  readonly port: number | null;
  address(): ServerAddress | null;
  /** Binds and starts serving. Rejects with `BIND` (`cause.code` `EADDRINUSE` for a port in use), `ALREADY_STARTED`. */
  start(): Promise<ServerAddress>;
  /**
   * Graceful stop: published events are flushed, clients are closed with 4200 (pusher-js
   * reconnects), the last lifecycle events are emitted, then `close`. Final.
   */
  stop(): Promise<void>;
  ref(): this;
  unref(): this;
  /**
   * Publishes `event` on `channels`. `data` may be a string (sent verbatim) or any other
   * JSON value (encoded once). Synchronous and non-blocking; throws on invalid input.
   */
  publish(channels: Channels, event: string, data: unknown, options?: PublishOptions): void;
  /** Publishes to the user channel of `userId` (pusher-js `user.bind`). */
  sendToUser(userId: string, event: string, data: unknown, options?: AppSelector): void;
  /** Occupied channels, sorted by name. */
  channels(options?: AppSelector & { prefix?: string }): Promise<ChannelInfo[]>;
  /** One channel, occupied or not. */
  channel(name: string, options?: AppSelector): Promise<ChannelInfo>;
  /** Members of a presence channel, sorted by id. */
  members(channel: string, options?: AppSelector): Promise<Member[]>;
  /** Closes every connection of `userId` (4009); resolves with how many. */
  terminateUserConnections(userId: string, options?: AppSelector): Promise<number>;
  connectionCount(options?: AppSelector): Promise<number>;
  /**
   * One user's status, cluster-wide: online while a connection is signed in or present
   * as the user; `location` and `info` while online, `last_seen` (ms) once offline.
   * Rejects with `INVALID_ARGUMENT` for a user id the server refuses.
   */
  userStatus(userId: string, options?: AppSelector): Promise<UserStatus>;
  /**
   * A page of the online users, sorted by id. `after`: the previous page's `next`
   * (default: from the first); `limit`: 1 to 1000, default 100.
   */
  onlineUsers(options?: OnlineUsersOptions & AppSelector): Promise<OnlineUsers>;
  /**
   * Sets (`null`: clears) an online user's location; resolves with whether they were
   * online (an offline user's location is not kept).
   */
  setUserLocation(userId: string, location: string | null, options?: AppSelector): Promise<boolean>;
  /**
   * The newest records of the delivery log, newest first: what was published, to how
   * many connections on how many nodes, the data's SHA-256 (or the data, with
   * `delivery_log.payloads: "payload"`). `limit`: 1 to the log's size, default 100;
   * rejects with `INVALID_ARGUMENT` outside it. Empty when the log is off (size 0).
   */
  deliveryLog(options?: DeliveryLogOptions & AppSelector): Promise<DeliveryRecord[]>;
  /**
   * A history channel's kept events (a channel one of the app's `history` rules names):
   * those after serial `since` (default 0: from the first kept), oldest first, at most
   * `limit` (1 to 1000, default 100), with the channel's last `serial` and its `epoch`
   * (changes whenever its history started over; absent while it has none). Rejects
   * with `INVALID_ARGUMENT` for a channel no rule names or a `limit` out of range,
   * `INVALID_CHANNEL` for a bad name.
   */
  history(channel: string, options?: HistoryOptions & AppSelector): Promise<ChannelHistory>;
  /** Counters of the app's webhooks since start (zeros without targets). */
  webhookStats(options?: AppSelector): WebhookStats;
  /**
   * Reads the TLS certificate and key files again (after a renewal): new connections get
   * the new certificate, open ones keep theirs. Throws a `PushbusError` (code `CONFIG`)
   * when the new files are unusable; the certificate in use then stays.
   */
  reloadTls(): void;
  /** The metrics in the OpenMetrics text format, as `GET /metrics` answers; throws (code `CONFIG`) when metrics are off. */
  metricsText(): string;
  [Symbol.asyncDispose](): Promise<void>;

  on<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
  once<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
  off<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
  addListener<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
  removeListener<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
  emit<E extends keyof ServerEvents>(event: E, ...args: ServerEvents[E]): boolean;
}

export interface ClientOptions {
  appId: string | number;
  key: string;
  secret: string;
  /** Required unless `cluster` is given (then `api-<cluster>.pusher.com`). */
  host?: string;
  cluster?: string;
  /** Default 443 with `useTLS`, else 80. */
  port?: number;
  /** Default false. */
  useTLS?: boolean;
  /** Per request, connecting included, in milliseconds. Default 5000. */
  timeout?: number;
  /** Needed to trigger on `private-encrypted-` channels (32 bytes, base64). */
  encryptionMasterKeyBase64?: string;
}

/** A channel as the HTTP API reports it; the fields present depend on `info`. */
export interface ChannelSummary {
  name: string;
  occupied: boolean;
  subscriptionCount?: number;
  userCount?: number;
  cache?: { data: string; ttl: number };
}

export interface BatchEvent {
  channel: string;
  name: string;
  data: unknown;
  exceptSocketId?: string;
}

/** A client of the Pusher HTTP API, for pushbus or any Pusher-compatible server. */
export declare class Client {
  constructor(options: ClientOptions);
  trigger(channels: Channels, event: string, data: unknown, options?: { exceptSocketId?: string }): Promise<void>;
  triggerBatch(events: BatchEvent[]): Promise<void>;
  sendToUser(userId: string, event: string, data: unknown): Promise<void>;
  /** `info: 'user_count'` needs a `presence-` prefix. */
  channels(options?: { prefix?: string; info?: string | string[] }): Promise<ChannelSummary[]>;
  /** `info`: `user_count`, `subscription_count`, `cache`. */
  channel(name: string, options?: { info?: string | string[] }): Promise<ChannelSummary>;
  /** Ids of a presence channel's members (the HTTP API does not report `user_info`). */
  members(channel: string): Promise<Array<{ id: string }>>;
  terminateUserConnections(userId: string): Promise<void>;
  /** pushbus's `GET /users/{id}`: as `Server.userStatus`. */
  userStatus(userId: string): Promise<UserStatus>;
  /** pushbus's `GET /users`: as `Server.onlineUsers`. */
  onlineUsers(options?: OnlineUsersOptions): Promise<OnlineUsers>;
  /** pushbus's `POST /users/{id}/location`: as `Server.setUserLocation`. */
  setUserLocation(userId: string, location: string | null): Promise<boolean>;
  /** pushbus's `GET /delivery_log`: as `Server.deliveryLog` (a `limit` out of range is an HTTP 400). */
  deliveryLog(options?: DeliveryLogOptions): Promise<DeliveryRecord[]>;
  /** pushbus's `GET /channels/{name}/events`: as `Server.history` (the server's refusals are HTTP 400s). */
  history(channel: string, options?: HistoryOptions): Promise<ChannelHistory>;
  authorizeChannel(socketId: string, channel: string, presenceData?: PresenceData | string): ChannelAuth;
  authenticateUser(socketId: string, userData: UserData | string): UserAuth;
  verifyWebhook(headers: WebhookHeaders, body: string | Uint8Array): boolean;
  createSignedQueryString(request: SignedRequest): string;
}

export interface Credentials {
  key: string;
  secret: string;
  /** For `private-encrypted-` channels (32 bytes, base64). */
  encryptionMasterKeyBase64?: string;
}

export interface PresenceData {
  user_id: string | number;
  user_info?: unknown;
}

export interface UserData {
  id: string;
  user_info?: unknown;
  watchlist?: string[];
  [key: string]: unknown;
}

/** A plain headers object (any case, as Node gives them) or a fetch `Headers`. */
export type WebhookHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };

export interface SignedRequest {
  method: string;
  /** e.g. `/apps/123/events`. */
  path: string;
  params?: Record<string, string | number>;
  body?: string | Uint8Array;
  /** Unix seconds; default now. */
  timestamp?: number;
}

/**
 * The JSON body an auth endpoint returns for `socketId` to subscribe to `channel`:
 * `{ auth }`, plus `channel_data` on presence channels (`presenceData`, required there;
 * a string is signed verbatim) and `shared_secret` on encrypted ones.
 */
export declare function authorizeChannel(
  credentials: Credentials,
  socketId: string,
  channel: string,
  presenceData?: PresenceData | string,
): ChannelAuth;

/** The JSON body a user-authentication endpoint returns (`{ auth, user_data }`). */
export declare function authenticateUser(credentials: Credentials, socketId: string, userData: UserData | string): UserAuth;

/** Whether a webhook request comes from the server (`X-Pusher-Key`, `X-Pusher-Signature`). */
export declare function verifyWebhook(credentials: Credentials, headers: WebhookHeaders, body: string | Uint8Array): boolean;

/** Requests answered 2xx, events in them, failed attempts, events given up. */
export interface WebhookStats {
  requests: number;
  sent: number;
  failures: number;
  dropped: number;
}

/** One webhook event, as Pusher sends it. */
export interface WebhookEvent {
  name: 'channel_occupied' | 'channel_vacated' | 'member_added' | 'member_removed' | 'client_event' | 'cache_miss' | 'subscription_count';
  channel: string;
  user_id?: string;
  event?: string;
  data?: string;
  socket_id?: string;
  subscription_count?: number;
}

/**
 * A `(req, res)` handler for `node:http` or Express receiving webhooks: 401 unless the
 * signature verifies, then `onEvents`; 200 when it succeeds, 500 when it throws (the
 * server retries).
 */
export declare function webhookHandler(
  credentials: Credentials,
  onEvents: (events: WebhookEvent[], meta: { timeMs: number }) => void | Promise<void>,
): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

/** The signed query string of an HTTP API request. */
export declare function createSignedQueryString(credentials: Credentials, request: SignedRequest): string;

/**
 * The `data` of an event on a `private-encrypted-` channel, for `Server.publish`. Uses a
 * fresh random nonce unless one is given (only ever for tests: never reuse a nonce).
 */
export declare function encryptEventData(
  credentials: Pick<Credentials, 'encryptionMasterKeyBase64'>,
  channel: string,
  data: unknown,
  options?: { nonce?: Uint8Array },
): string;
