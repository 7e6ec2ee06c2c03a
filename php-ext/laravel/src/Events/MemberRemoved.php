<?php

namespace Pushbus\Laravel\Events;

/** A user's last connection left a presence channel (after the webhook delay). */
final class MemberRemoved extends PushbusEvent
{
}
