<?php

namespace App\Services;

use App\Events\ActivityFeedUpdated;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\Str;
use Pushbus\Client;

/**
 * The seed's ActivityFeedService, with no table for recent activity: each activity is
 * broadcast (ActivityFeedUpdated) on `activity` and on its client's and project's
 * private feeds, and the feeds are those channels' history, kept by pushbus (the
 * `history` rules of config/broadcasting.php: the last 100 events of each, for an hour)
 * and read through the broadcaster's client, newest first.
 */
class ActivityFeedService
{
    /** The most events one history query returns (pushbus's bound). */
    private const MAX_PAGE = 1000;

    public function __construct(private ?Client $client = null)
    {
    }

    private function client(): Client
    {
        return $this->client ??= Broadcast::driver()->getClient();
    }

    /**
     * Records an activity: broadcast at once to the feeds it belongs to. Returns it as
     * the feeds list it.
     */
    public function addActivity(string $type, string $message, ?int $clientId = null, ?int $projectId = null, array $data = []): array
    {
        $activity = [
            'id' => (string) Str::uuid(),
            'type' => $type,
            'message' => $message,
            'client_id' => $clientId,
            'project_id' => $projectId,
            'user_id' => Auth::id(),
            'data' => $data,
            'created_at' => now()->toIso8601String(),
        ];
        event(new ActivityFeedUpdated($activity));

        return $activity;
    }

    /** The newest activities of everyone, newest first. */
    public function getGlobalFeed(int $limit = 50): array
    {
        return $this->feed('activity', $limit);
    }

    /** The newest activities of client $clientId, newest first. */
    public function getClientFeed(int $clientId, int $limit = 50): array
    {
        return $this->feed('private-activity.client.'.$clientId, $limit);
    }

    /** The newest activities of project $projectId, newest first. */
    public function getProjectFeed(int $projectId, int $limit = 50): array
    {
        return $this->feed('private-activity.project.'.$projectId, $limit);
    }

    /**
     * The last $limit events of $channel's history, newest first, each the activity
     * with its `serial` in the channel. A history keeps consecutive serials, up to the
     * channel's last: the last $limit are those after serial - $limit.
     */
    private function feed(string $channel, int $limit): array
    {
        $limit = max(1, min($limit, self::MAX_PAGE));
        $last = $this->client()->history($channel, 0, 1)['serial'];
        if ($last === 0) {
            return [];
        }
        $page = $this->client()->history($channel, max(0, $last - $limit), $limit);
        $feed = [];
        foreach (array_reverse($page['events']) as $event) {
            if ($event['event'] !== ActivityFeedUpdated::class) {
                continue;
            }
            $feed[] = json_decode($event['data'], true) + ['serial' => $event['serial']];
        }

        return $feed;
    }
}
