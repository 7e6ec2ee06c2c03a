<?php

namespace Pushbus\Laravel\Events;

/**
 * A published event, recorded in pushbus's delivery log (the app's `delivery_log` with
 * `events` on): `$channel` and `$event` are the event's, `$data` is the record as JSON
 * (id, time, channel, event, size, digest or data, delivered, nodes, except, source).
 */
final class EventLogged extends PushbusEvent
{
    /** The delivery-log record. */
    public function record(): array
    {
        return json_decode($this->data ?? '{}', true, 512, JSON_THROW_ON_ERROR);
    }
}
