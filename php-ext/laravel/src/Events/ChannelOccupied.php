<?php

namespace Pushbus\Laravel\Events;

/** A channel got its first subscriber. */
final class ChannelOccupied extends PushbusEvent
{
}
