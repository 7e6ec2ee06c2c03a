<?php

use App\Events\CommentAdded;
use App\Events\InvoiceCreated;
use App\Events\ProjectUpdated;
use App\Models\Project;
use App\Models\User;
use App\Notifications\InvoicePaid;
use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\Facades\Route;
use Pushbus\Laravel\PushbusBroadcaster;

// The test login: a user by email gets their API token.
Route::post('/test/login', function (Request $request) {
    $user = User::where('email', $request->input('email'))->firstOrFail();

    return ['token' => $user->api_token, 'user' => $user];
});

// A user's row of user_presence (TrackPresence), or null.
Route::get('/test/presence/{id}', function (int $id) {
    return ['presence' => Illuminate\Support\Facades\DB::table('user_presence')->where('user_id', $id)->first()];
});

// The seed's heartbeat endpoints, answered by pushbus (PresenceService): no polling,
// no TTL table.
Route::get('/sync/online-users', function (App\Services\PresenceService $presence) {
    return ['users' => array_map(fn ($u) => [
        'id' => $u['user']->id, 'name' => $u['user']->name, 'connections' => $u['connections'], 'location' => $u['location'],
    ], $presence->getOnlineUsers())];
});
Route::get('/presence/{id}', function (App\Services\PresenceService $presence, string $id) {
    return ['online' => $presence->isOnline($id), 'status' => $presence->status($id)];
});
Route::get('/viewing/{type}/{id}', function (App\Services\PresenceService $presence, string $type, string $id) {
    return ['users' => $presence->getUsersViewingResource($type, $id)];
});
// The rows RecordRealtimeEvent wrote, newest first.
Route::get('/test/realtime-events', function () {
    return ['events' => Illuminate\Support\Facades\DB::table('realtime_events')->orderByDesc('id')->limit(50)->get()];
});

// Which broadcaster runs, and this worker's connections to the pushbus server
// (to check that one persists across requests).
Route::get('/test/broadcaster', function () {
    $broadcaster = Broadcast::driver();
    $broadcaster->getClient()->channels(); // makes sure the connection is open
    $port = (int) config('broadcasting.connections.pushbus.options.port');

    return ['class' => get_class($broadcaster), 'pid' => getmypid(), 'connections' => local_ports_to($port)];
});

// A broadcaster pointed at a port where nothing listens: what the app sees, when the
// broadcast waits (as in a queue worker)...
Route::post('/test/broadcast-failure', function (Request $request) {
    $config = config('broadcasting.connections.pushbus');
    $config['options']['port'] = (int) $request->input('port');
    try {
        (new PushbusBroadcaster($config))->broadcast([new PrivateChannel('client.7')], 'invoice.created', ['id' => 1]);
    } catch (BroadcastException $e) {
        return ['exception' => get_class($e), 'message' => $e->getMessage(), 'code' => $e->getCode(),
            'previous' => get_class($e->getPrevious())];
    }

    return ['exception' => null];
});

// ... and when it is deferred (as in a web request): reported after the response.
Route::post('/test/broadcast-deferred-failure', function (Request $request) {
    $config = config('broadcasting.connections.pushbus');
    $config['options']['port'] = (int) $request->input('port');
    $broadcaster = new PushbusBroadcaster($config);
    $broadcaster->deferFlushTo(app());
    $broadcaster->broadcast([new PrivateChannel('client.7')], 'invoice.created', ['id' => 2]);

    return ['queued' => true];
});

// The global activity feed (the public `activity` channel's history), newest first.
Route::get('/activity/global', function (Request $request, App\Services\ActivityFeedService $feeds) {
    return ['activities' => $feeds->getGlobalFeed(feed_limit($request))];
});

Route::middleware('auth:api')->group(function () {
    // An activity of the user's: on the global feed, and on its client's and project's
    // (which the user must be allowed to see).
    Route::post('/activity', function (Request $request, App\Services\ActivityFeedService $feeds) {
        $input = $request->validate([
            'type' => 'required|string|max:100',
            'message' => 'required|string|max:1000',
            'client_id' => 'nullable|integer',
            'project_id' => 'nullable|integer',
            'data' => 'array',
        ]);
        $clientId = isset($input['client_id']) ? (int) $input['client_id'] : null;
        $projectId = isset($input['project_id']) ? (int) $input['project_id'] : null;
        if ($projectId !== null) {
            $project = Project::findOrFail($projectId);
            abort_unless($clientId === null || $clientId === (int) $project->client_id, 422, 'the project is not of that client');
            $clientId = (int) $project->client_id;
        }
        abort_unless($clientId === null || $request->user()->canSeeClient($clientId), 403);

        return $feeds->addActivity($input['type'], $input['message'], $clientId, $projectId, $input['data'] ?? []);
    });

    Route::get('/activity/client/{id}', function (Request $request, App\Services\ActivityFeedService $feeds, int $id) {
        abort_unless($request->user()->canSeeClient($id), 403);

        return ['activities' => $feeds->getClientFeed($id, feed_limit($request))];
    });

    Route::get('/activity/project/{project}', function (Request $request, App\Services\ActivityFeedService $feeds, Project $project) {
        abort_unless($request->user()->canSeeClient($project->client_id), 403);

        return ['activities' => $feeds->getProjectFeed($project->id, feed_limit($request))];
    });

    // The seed's setOnline($user, 'Projects'), called as the user moves around.
    Route::post('/presence/location', function (Request $request, App\Services\PresenceService $presence) {
        return ['online' => $presence->setOnline($request->user(), $request->input('location'))];
    });

    Route::post('/invoices', function (Request $request) {
        $invoice = [
            'id' => (int) $request->input('id'),
            'number' => $request->input('number'),
            'total' => $request->input('total'),
            'client_id' => $request->user()->client_id,
        ];
        event(new InvoiceCreated($invoice));

        return $invoice;
    });

    Route::post('/projects/{project}', function (Request $request, Project $project) {
        $project->update(['name' => $request->input('name')]);
        ProjectUpdated::dispatch($project, 'renamed');

        return $project;
    });

    Route::post('/projects/{project}/comments', function (Request $request, Project $project) {
        $comment = ['id' => random_int(1, 1000000), 'body' => $request->input('body'), 'author' => $request->user()->name];
        broadcast(new CommentAdded($project->id, $comment))->toOthers();

        return $comment;
    });

    Route::post('/invoices/{id}/paid', function (Request $request, int $id) {
        $request->user()->notify(new InvoicePaid($id, $request->input('amount')));

        return ['ok' => true];
    });
});

/** A feed's ?limit= (1 to 100, default 50); 422 otherwise. */
function feed_limit(Request $request): int
{
    return (int) ($request->validate(['limit' => 'integer|min:1|max:100'])['limit'] ?? 50);
}

/** The local ports of this process's established TCP connections to 127.0.0.1:$port. */
function local_ports_to(int $port): array
{
    // (declared once: routes/api.php is loaded once per request)
    $inodes = [];
    foreach (glob('/proc/self/fd/*') as $fd) {
        if (preg_match('/^socket:\[(\d+)\]$/', (string) @readlink($fd), $m)) {
            $inodes[$m[1]] = true;
        }
    }
    $ports = [];
    foreach (array_slice(file('/proc/net/tcp'), 1) as $line) {
        $f = preg_split('/\s+/', trim($line));
        [, $local] = explode(':', $f[1]);
        [$addr, $remote] = explode(':', $f[2]);
        if ($f[3] === '01' && $addr === '0100007F' && hexdec($remote) === $port && isset($inodes[$f[9]])) {
            $ports[] = hexdec($local);
        }
    }

    return $ports;
}
