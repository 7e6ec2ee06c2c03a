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

Route::middleware('auth:api')->group(function () {
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
