<?php

namespace Pushbus\Laravel\Events;

/** A user's first connection joined a presence channel. */
final class MemberAdded extends PushbusEvent
{
}
