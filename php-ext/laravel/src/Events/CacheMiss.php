<?php

namespace Pushbus\Laravel\Events;

/** A subscriber of a cache channel found nothing kept. */
final class CacheMiss extends PushbusEvent
{
}
