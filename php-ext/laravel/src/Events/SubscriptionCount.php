<?php

namespace Pushbus\Laravel\Events;

/** The subscriptions of a non-presence channel changed. */
final class SubscriptionCount extends PushbusEvent
{
}
