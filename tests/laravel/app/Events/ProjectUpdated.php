<?php

namespace App\Events;

use App\Models\Project;
use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PresenceChannel;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcast;
use Illuminate\Foundation\Events\Dispatchable;
use Illuminate\Queue\SerializesModels;

/**
 * Queued (ShouldBroadcast; the sync queue runs it in the request), on two channels,
 * under its class name, with its public properties as the payload.
 */
class ProjectUpdated implements ShouldBroadcast
{
    use Dispatchable, InteractsWithSockets, SerializesModels;

    public function __construct(public Project $project, public string $change)
    {
    }

    public function broadcastOn()
    {
        return [
            new PrivateChannel('client.'.$this->project->client_id),
            new PresenceChannel('project.'.$this->project->id),
        ];
    }
}
