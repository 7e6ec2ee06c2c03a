<?php

namespace Pushbus\Laravel\Http;

use Illuminate\Contracts\Events\Dispatcher;
use Illuminate\Http\Request;
use Illuminate\Http\Response;
use Pushbus\Auth;
use Pushbus\Laravel\Events\PushbusEvent;

/**
 * POST /pushbus/webhook: the webhooks of a pushbus (or Pusher) server. A request that
 * is not signed with the connection's key and secret is refused (401); otherwise each
 * event is dispatched as its Laravel event (Pushbus\Laravel\Events\MemberAdded, …) and
 * the answer is 200. A listener that throws makes it 500, and the server retries.
 */
class WebhookController
{
    public function __construct(private array $connection)
    {
    }

    public function __invoke(Request $request, Dispatcher $events): Response
    {
        $body = $request->getContent();
        $key = (string) $request->header('X-Pusher-Key', '');
        $signature = (string) $request->header('X-Pusher-Signature', '');
        $valid = $request->header('Content-Type') === 'application/json'
            && Auth::verifyWebhook((string) $this->connection['key'], (string) $this->connection['secret'], $key, $signature, $body);
        if (! $valid) {
            return new Response('invalid webhook signature', 401);
        }
        $hook = json_decode($body, true);
        if (! is_array($hook) || ! is_array($hook['events'] ?? null)) {
            return new Response('webhook body is not a Pusher webhook', 400);
        }
        $time = isset($hook['time_ms']) ? (int) $hook['time_ms'] : null;
        foreach ($hook['events'] as $e) {
            if (is_array($e) && ($event = PushbusEvent::fromArray($e, $time)) !== null) {
                $events->dispatch($event);
            }
        }

        return new Response('ok', 200);
    }
}
