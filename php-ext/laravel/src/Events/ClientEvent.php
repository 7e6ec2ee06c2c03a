<?php

namespace Pushbus\Laravel\Events;

/** A client event (whisper) was accepted. */
final class ClientEvent extends PushbusEvent
{
}
