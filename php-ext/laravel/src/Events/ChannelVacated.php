<?php

namespace Pushbus\Laravel\Events;

/** A channel lost its last subscriber (after the webhook delay). */
final class ChannelVacated extends PushbusEvent
{
}
