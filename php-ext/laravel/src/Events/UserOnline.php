<?php

namespace Pushbus\Laravel\Events;

/** A user's first connection anywhere signed in, or joined a presence channel. */
final class UserOnline extends UserStatusChanged
{
}
