<?php

namespace App\Events;

use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PresenceChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;
use Illuminate\Foundation\Events\Dispatchable;

/** A comment in a project's room; sent with toOthers() (the author has it already). */
class CommentAdded implements ShouldBroadcastNow
{
    use Dispatchable, InteractsWithSockets;

    public function __construct(public int $projectId, public array $comment)
    {
    }

    public function broadcastOn()
    {
        return new PresenceChannel('project.'.$this->projectId);
    }
}
