<?php

use PHPUnit\Framework\TestCase;
use Pushbus\Auth;
use Pushbus\Laravel\Console\StartCommand;
use Pushbus\Server;

/**
 * `pushbus:start` with `'options' => ['lifecycle_events' => 'webhook']` in the
 * connection's server config: poll() gives the events as webhooks see them, so a
 * listener keeping "who is online" sees no page reload, and a leave after the delay.
 */
final class WebhookGradeEventsTest extends TestCase
{
    private static function join(int $port, string $channel, string $user): Ws
    {
        $ws = new Ws($port);
        $data = json_encode(['user_id' => $user, 'user_info' => ['name' => "u$user"]]);
        $answer = $ws->subscribe($channel, json_decode(Auth::authorizeChannel(KEY, SECRET, $ws->socketId, $channel, $data), true)['auth'], $data);
        self::assertSame('pusher_internal:subscription_succeeded', $answer['event']);

        return $ws;
    }

    /** The next polled events until one named $name on $channel (bounded). */
    private static function until(Server $server, string $name, string $channel): array
    {
        $seen = [];
        $deadline = now_ms() + WAIT_MS;
        while (now_ms() < $deadline) {
            foreach ($server->poll(200) as $e) {
                $seen[] = $e;
                if ($e['name'] === $name && $e['channel'] === $channel) {
                    return $seen;
                }
            }
        }
        self::fail("no $name on $channel: ".json_encode($seen));
    }

    public function testPollGivesTheWebhookGradeEvents(): void
    {
        $config = StartCommand::serverConfig([
            'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET,
            'server' => ['options' => ['lifecycle_events' => 'webhook'], 'app' => ['webhook_options' => ['delay' => 1]]],
        ], '127.0.0.1', 0);
        $server = new Server($config);
        $port = $server->start();
        try {
            $first = self::join($port, 'presence-project.5', '7');
            $seen = self::until($server, 'member_added', 'presence-project.5');
            $this->assertSame(['channel_occupied', 'member_added'], array_column($seen, 'name'), 'no connection events');

            // A reload (leave and come back within the delay), then a marker that
            // leaves for good: its removal is due after the reload's would have been.
            $first->close();
            $again = self::join($port, 'presence-project.5', '7');
            $marker = self::join($port, 'presence-project.6', '8');
            $marker->close();
            $seen = self::until($server, 'member_removed', 'presence-project.6');
            $this->assertSame([], array_values(array_filter($seen, fn ($e) => $e['channel'] === 'presence-project.5')), 'the reload is no event');

            $again->close();
            $seen = self::until($server, 'member_removed', 'presence-project.5');
            $this->assertSame('7', end($seen)['user_id']);
            // No webhook target here: the counters are zeros.
            $this->assertSame(['requests' => 0, 'sent' => 0, 'failures' => 0, 'dropped' => 0], $server->webhookStats());
        } finally {
            $server->stop();
        }
    }
}
