<?php

namespace App\Models;

use Illuminate\Foundation\Auth\User as Authenticatable;
use Illuminate\Notifications\Notifiable;

/**
 * A user of the client portal: belongs to one client (company) with a role there.
 */
class User extends Authenticatable
{
    use Notifiable;

    protected $fillable = ['name', 'email', 'avatar', 'client_id', 'role', 'api_token'];

    protected $hidden = ['api_token'];

    protected $casts = ['client_id' => 'integer'];

    /** Whether the user may see what happens in client $clientId. */
    public function canSeeClient(int $clientId): bool
    {
        return $this->client_id === $clientId && in_array($this->role, ['admin', 'member'], true);
    }
}
