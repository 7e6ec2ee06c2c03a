<?php

namespace App\Services;

use App\Models\User;
use Illuminate\Support\Facades\Broadcast;
use Pushbus\Client;

/**
 * The seed's PresenceService, answered by pushbus instead of heartbeat polling and a
 * TTL table: pushbus knows who is connected (signed in, or a member of a presence
 * channel), cluster-wide, and when they left.
 */
class PresenceService
{
    public function __construct(private ?Client $client = null)
    {
    }

    private function client(): Client
    {
        return $this->client ??= Broadcast::driver()->getClient();
    }

    public function isOnline(int|string $userId): bool
    {
        return $this->status($userId)['online'];
    }

    /** pushbus's status of the user: online, connections, channels, last_seen, location. */
    public function status(int|string $userId): array
    {
        return $this->client()->userStatus((string) $userId);
    }

    /**
     * Every online user, with their portal record: [['user' => User, 'connections' =>
     * n, 'location' => ?string], ...], by id.
     */
    public function getOnlineUsers(): array
    {
        $online = [];
        $after = '';
        do {
            $page = $this->client()->onlineUsers($after, 100);
            foreach ($page['users'] as $u) {
                $online[$u['id']] = $u;
            }
            $after = $page['next'] ?? null;
        } while ($after !== null);
        // PHP turns numeric string keys into integers: the portal's ids are those.
        $ids = array_filter(array_keys($online), fn ($id) => ctype_digit((string) $id));
        $users = User::whereIn('id', $ids)->get()->keyBy('id');

        $out = [];
        foreach ($online as $id => $u) {
            if (isset($users[$id])) {
                $out[] = ['user' => $users[$id], 'connections' => $u['connections'], 'location' => $u['location'] ?? null];
            }
        }

        return $out;
    }

    /**
     * Who views a resource: the members of its presence channel (Echo's
     * `join('project.5')` is `presence-project.5`).
     */
    public function getUsersViewingResource(string $type, int|string $id): array
    {
        $members = $this->client()->users("presence-$type.$id");

        return array_map(fn ($m) => $m['id'], $members['users'] ?? $members);
    }

    /** The seed's setOnline($user, 'Projects'): where the user is, while online. */
    public function setOnline(User $user, ?string $location): bool
    {
        return $this->client()->setUserLocation((string) $user->id, $location);
    }
}
