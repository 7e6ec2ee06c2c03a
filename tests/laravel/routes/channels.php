<?php

use App\Models\Project;
use App\Models\User;
use Illuminate\Support\Facades\Broadcast;

// Everything of one client (invoices, projects): its admins and members.
Broadcast::channel('client.{clientId}', function (User $user, int $clientId) {
    return $user->canSeeClient($clientId);
});

// A user's own notifications.
Broadcast::channel('App.Models.User.{id}', function (User $user, int $id) {
    return $user->id === $id;
});

// Who is looking at a project (presence-project.{projectId} on the wire): the
// returned array is the member's user_info in here/joining/leaving.
Broadcast::channel('project.{projectId}', function (User $user, int $projectId) {
    $project = Project::find($projectId);
    if (! $project || ! $user->canSeeClient($project->client_id)) {
        return false;
    }

    return ['id' => $user->id, 'name' => $user->name, 'avatar' => $user->avatar];
});

// A client's activity feed (private-activity.client.{clientId}): as its client channel.
Broadcast::channel('activity.client.{clientId}', function (User $user, int $clientId) {
    return $user->canSeeClient($clientId);
});

// A project's activity feed: those who may see the project's client.
Broadcast::channel('activity.project.{projectId}', function (User $user, int $projectId) {
    $project = Project::find($projectId);

    return $project !== null && $user->canSeeClient($project->client_id);
});
