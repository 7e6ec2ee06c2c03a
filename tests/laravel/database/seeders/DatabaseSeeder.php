<?php

namespace Database\Seeders;

use App\Models\Project;
use App\Models\User;
use Illuminate\Database\Seeder;
use Illuminate\Support\Str;

class DatabaseSeeder extends Seeder
{
    public function run()
    {
        // Client 7 has an admin, a member and a guest; client 8 a member.
        $users = [
            ['name' => 'Ann Admin', 'email' => 'ann@client7.test', 'client_id' => 7, 'role' => 'admin'],
            ['name' => 'Bob Member', 'email' => 'bob@client7.test', 'client_id' => 7, 'role' => 'member'],
            ['name' => 'Cat Other', 'email' => 'cat@client8.test', 'client_id' => 8, 'role' => 'member'],
            ['name' => 'Dan Guest', 'email' => 'dan@client7.test', 'client_id' => 7, 'role' => 'guest'],
        ];
        foreach ($users as $u) {
            User::create($u + [
                'avatar' => 'https://portal.test/avatars/'.Str::before($u['email'], '@').'.png',
                'api_token' => Str::random(60),
            ]);
        }
        Project::create(['client_id' => 7, 'name' => 'Website relaunch']);
        Project::create(['client_id' => 8, 'name' => 'Mobile app']);
    }
}
