<?php

namespace Pushbus\Laravel\Events;

/** A user's last connection ended, and they stayed away for the offline delay. */
final class UserOffline extends UserStatusChanged
{
}
