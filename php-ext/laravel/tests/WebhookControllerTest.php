<?php

use Illuminate\Events\Dispatcher;
use Illuminate\Http\Request;
use PHPUnit\Framework\TestCase;
use Pushbus\Laravel\Events\ClientEvent;
use Pushbus\Laravel\Events\MemberAdded;
use Pushbus\Laravel\Events\PushbusEvent;
use Pushbus\Laravel\Events\SubscriptionCount;
use Pushbus\Laravel\Http\WebhookController;

/** The webhook route's controller: signed requests become Laravel events, others 401. */
final class WebhookControllerTest extends TestCase
{
    private const CONNECTION = ['driver' => 'pushbus', 'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET];

    private function post(string $body, array $headers): array
    {
        $request = Request::create('/pushbus/webhook', 'POST', [], [], [], [], $body);
        foreach ($headers as $name => $value) {
            $request->headers->set($name, $value);
        }
        $events = new Dispatcher;
        $seen = [];
        $events->listen(array_values(PushbusEvent::CLASSES), function (PushbusEvent $e) use (&$seen) {
            $seen[] = $e;
        });
        $response = (new WebhookController(self::CONNECTION))($request, $events);

        return [$response->getStatusCode(), $seen];
    }

    private static function signed(string $body): array
    {
        return ['Content-Type' => 'application/json', 'X-Pusher-Key' => KEY,
            'X-Pusher-Signature' => hash_hmac('sha256', $body, SECRET)];
    }

    public function testSignedEventsAreDispatchedAsTheirClasses(): void
    {
        $body = json_encode(['time_ms' => 1700000000123, 'events' => [
            ['name' => 'member_added', 'channel' => 'presence-project.5', 'user_id' => '7'],
            ['name' => 'client_event', 'channel' => 'private-x', 'event' => 'client-typing', 'data' => '{"a":1}', 'socket_id' => '1.2'],
            ['name' => 'subscription_count', 'channel' => 'orders', 'subscription_count' => 3],
            ['name' => 'something_new', 'channel' => 'x'],
        ]]);
        [$status, $seen] = $this->post($body, self::signed($body));
        $this->assertSame(200, $status);
        $this->assertCount(3, $seen, 'an unknown type is skipped');
        $this->assertInstanceOf(MemberAdded::class, $seen[0]);
        $this->assertSame(['presence-project.5', '7', 1700000000123, 'member_added'],
            [$seen[0]->channel, $seen[0]->userId, $seen[0]->timeMs, $seen[0]->name()]);
        $this->assertInstanceOf(ClientEvent::class, $seen[1]);
        $this->assertSame(['client-typing', '{"a":1}', '1.2'], [$seen[1]->event, $seen[1]->data, $seen[1]->socketId]);
        $this->assertInstanceOf(SubscriptionCount::class, $seen[2]);
        $this->assertSame(3, $seen[2]->subscriptionCount);
    }

    public function testUnsignedOrForgedRequestsAreRefused(): void
    {
        $body = json_encode(['time_ms' => 1, 'events' => [['name' => 'member_added', 'channel' => 'presence-x', 'user_id' => '1']]]);
        $forged = ['X-Pusher-Signature' => str_repeat('0', 64)] + self::signed($body);
        $otherKey = ['X-Pusher-Key' => 'someone-else'] + self::signed($body);
        $charset = ['Content-Type' => 'application/json; charset=utf-8'] + self::signed($body);
        foreach ([[], $forged, $otherKey, $charset] as $headers) {
            [$status, $seen] = $this->post($body, $headers);
            $this->assertSame(401, $status);
            $this->assertSame([], $seen);
        }
    }
}
