<?php

use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Broadcasting\Channel;
use Illuminate\Broadcasting\EncryptedPrivateChannel;
use Illuminate\Broadcasting\PresenceChannel;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Container\Container;
use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Http\Request;
use PHPUnit\Framework\TestCase;
use Pushbus\Auth;
use Pushbus\Laravel\Console\StartCommand;
use Pushbus\Laravel\PushbusBroadcaster;
use Pushbus\Server;
use Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException;
use Symfony\Component\HttpKernel\Exception\BadRequestHttpException;

/**
 * The broadcaster's contract, against an embedded pushbus server (Pushbus\Server in
 * this process) and a WebSocket client of the Pusher protocol.
 */
final class PushbusBroadcasterTest extends TestCase
{
    private static Server $server;
    private static int $port;

    public static function setUpBeforeClass(): void
    {
        Container::setInstance(new Container); // for the Broadcaster's implicit binding
        self::$server = new Server(['host' => '127.0.0.1', 'port' => 0,
            'apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]);
        self::$port = self::$server->start();
    }

    public static function tearDownAfterClass(): void
    {
        self::$server->stop();
    }

    private function config(array $options = []): array
    {
        return [
            'driver' => 'pushbus',
            'app_id' => (int) APP_ID, // as env() may give it
            'key' => KEY,
            'secret' => SECRET,
            'options' => $options + ['host' => '127.0.0.1', 'port' => (string) self::$port, 'scheme' => 'http'],
        ];
    }

    private function request(string $channel, ?Authenticatable $user, string $socketId = '1234.5678'): Request
    {
        $request = Request::create('/broadcasting/auth', 'POST', ['channel_name' => $channel, 'socket_id' => $socketId]);
        $request->setUserResolver(fn () => $user);

        return $request;
    }

    private function user(int $id, bool $forBroadcasting = false): Authenticatable
    {
        return new class($id, $forBroadcasting) extends Illuminate\Foundation\Auth\User
        {
            public function __construct(private int $uid, private bool $custom)
            {
            }

            public function getAuthIdentifier()
            {
                return $this->uid;
            }

            public function getAuthIdentifierForBroadcasting()
            {
                return $this->custom ? "user-{$this->uid}" : $this->uid;
            }
        };
    }

    public function testClientOptionsFromTheReverbConnection(): void
    {
        $o = PushbusBroadcaster::clientOptions(['app_id' => 428771, 'key' => 'k', 'secret' => 's',
            'options' => ['host' => 'ws.portal.test', 'port' => 443, 'scheme' => 'https', 'useTLS' => true]]);
        $this->assertSame(['app_id' => '428771', 'key' => 'k', 'secret' => 's', 'host' => 'ws.portal.test',
            'port' => 443, 'scheme' => 'https', 'timeout' => 5], $o);
        $this->assertSame(80, PushbusBroadcaster::clientOptions(['app_id' => 1, 'key' => 'k', 'secret' => 's'])['port']);
    }

    public function testPrivateChannelAuth(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $b->channel('client.{clientId}', fn ($user, $clientId) => (int) $clientId === 7);
        $request = $this->request('private-client.7', $this->user(1));
        $answer = $b->auth($request); // auth() answers with validAuthenticationResponse()
        $this->assertSame(json_decode(Auth::authorizeChannel(KEY, SECRET, '1234.5678', 'private-client.7'), true), $answer);

        $this->expectException(AccessDeniedHttpException::class);
        $b->auth($this->request('private-client.8', $this->user(1)));
    }

    public function testGuardedChannelWithoutUserIs403(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $b->channel('client.{clientId}', fn () => true);
        $this->expectException(AccessDeniedHttpException::class);
        $b->auth($this->request('private-client.7', null));
    }

    public function testPresenceChannelDataAsThePusherSdkBuildsIt(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $info = ['id' => 1, 'name' => 'Zoë', 'avatar' => 'https://x.test/a.png'];
        $b->channel('project.{id}', fn ($user, $id) => $info);
        $request = $this->request('presence-project.5', $this->user(1));
        $answer = $b->auth($request); // auth() answers with validAuthenticationResponse()
        // The id as a string, user_info the callback's array, PHP's json_encode bytes.
        $channelData = '{"user_id":"1","user_info":{"id":1,"name":"Zo\u00eb","avatar":"https:\/\/x.test\/a.png"}}';
        $this->assertSame(['auth' => json_decode(Auth::authorizeChannel(KEY, SECRET, '1234.5678', 'presence-project.5', $channelData), true)['auth'],
            'channel_data' => $channelData], $answer);

        // A callback returning true: user_info true; getAuthIdentifierForBroadcasting wins.
        $answer = $b->validAuthenticationResponse($this->request('presence-project.5', $this->user(2, true)), true);
        $this->assertSame('{"user_id":"user-2","user_info":true}', $answer['channel_data']);
    }

    public function testEncryptedChannelGetsTheSharedSecret(): void
    {
        $key = base64_encode(random_bytes(32));
        $b = new PushbusBroadcaster($this->config(['encryption_master_key_base64' => $key]));
        $answer = $b->validAuthenticationResponse($this->request('private-encrypted-orders.1', $this->user(1)), true);
        $this->assertSame(Auth::sharedSecret('private-encrypted-orders.1', $key), $answer['shared_secret']);
    }

    public function testMalformedSocketIdIs400(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $this->expectException(BadRequestHttpException::class);
        $b->validAuthenticationResponse($this->request('private-client.7', $this->user(1), 'nope'), true);
    }

    public function testJsonpCallback(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $request = $this->request('private-client.7', $this->user(1));
        $request->merge(['callback' => 'cb']);
        Container::getInstance()->instance(Illuminate\Contracts\Routing\ResponseFactory::class,
            new Illuminate\Routing\ResponseFactory(new class implements Illuminate\Contracts\View\Factory
            {
                public function exists($view) { return false; }
                public function file($path, $data = [], $mergeData = []) {}
                public function make($view, $data = [], $mergeData = []) {}
                public function share($key, $value = null) {}
                public function composer($views, $callback) {}
                public function creator($views, $callback) {}
                public function addNamespace($namespace, $hints) {}
                public function replaceNamespace($namespace, $hints) {}
            }, new Illuminate\Routing\Redirector(new Illuminate\Routing\UrlGenerator(new Illuminate\Routing\RouteCollection, $request))));
        $response = $b->validAuthenticationResponse($request, true);
        $this->assertStringStartsWith('/**/cb(', $response->getContent());
    }

    public function testBroadcastInChunksOf100WithSocketExcluded(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $first = new Ws(self::$port, KEY);
        $last = new Ws(self::$port, KEY);
        $this->assertSame('pusher_internal:subscription_succeeded', $first->subscribe('orders.1')['event']);
        $this->assertSame('pusher_internal:subscription_succeeded', $last->subscribe('orders.250')['event']);

        // 250 channels: the server takes at most 100 per request, so this only works in chunks.
        $channels = array_map(fn ($i) => new Channel("orders.$i"), range(1, 250));
        $b->broadcast($channels, 'order.shipped', ['order' => ['id' => 9], 'socket' => null]);
        foreach ([$first, $last] as $ws) {
            $m = $ws->expect('order.shipped');
            $this->assertSame('{"order":{"id":9}}', $m['data']);
        }

        // toOthers(): the "socket" key is the connection to skip, not payload.
        $b->broadcast([new Channel('orders.1')], 'order.skipped', ['socket' => $first->socketId]);
        $b->broadcast([new Channel('orders.1')], 'marker', []);
        $before = $first->until('marker');
        $this->assertNotNull($before);
        $this->assertNotContains('order.skipped', array_column($before, 'event'));
        $first->close();
        $last->close();
    }

    public function testChannelObjectsBecomePusherNames(): void
    {
        $b = new PushbusBroadcaster($this->config());
        $b->broadcast([new PrivateChannel('a.1'), new PresenceChannel('b.1'), new Channel('c')], 'e', []);
        // Names refused by the server surface as BroadcastException with the result code.
        try {
            $b->broadcast([new Channel('bad name')], 'e', []);
            $this->fail('no exception');
        } catch (BroadcastException $e) {
            $this->assertInstanceOf(Pushbus\Exception::class, $e->getPrevious());
            $this->assertSame(Pushbus\Exception::INVALID_ARGUMENT, $e->getCode());
            $this->assertStringStartsWith('Pushbus error: ', $e->getMessage());
        }
        // An encrypted channel without the master key is refused before sending.
        $this->expectException(BroadcastException::class);
        $b->broadcast([new EncryptedPrivateChannel('secret')], 'e', []);
    }

    public function testAFailedDeliveryThrowsUnlessDeferred(): void
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $deadPort = (int) parse_url('tcp://'.stream_socket_get_name($probe, false), PHP_URL_PORT);
        fclose($probe); // nothing listens there

        // Waiting (the console, a queue worker): BroadcastException with the result code.
        $b = new PushbusBroadcaster($this->config(['port' => $deadPort]));
        try {
            $b->broadcast([new Channel('orders')], 'e', []);
            $this->fail('no exception');
        } catch (BroadcastException $e) {
            $this->assertSame(Pushbus\Exception::CONNECT, $e->getCode());
        }

        // Deferred (an HTTP request): broadcast() returns; the terminating callback
        // waits and reports the failure to the exception handler.
        $app = new class
        {
            public array $terminating = [];

            public function terminating(callable $callback)
            {
                $this->terminating[] = $callback;
            }
        };
        $reported = [];
        Container::getInstance()->instance(Illuminate\Contracts\Debug\ExceptionHandler::class, new class($reported) implements Illuminate\Contracts\Debug\ExceptionHandler
        {
            public function __construct(private array &$reported)
            {
            }

            public function report(Throwable $e) { $this->reported[] = $e; }
            public function shouldReport(Throwable $e) { return true; }
            public function render($request, Throwable $e) {}
            public function renderForConsole($output, Throwable $e) {}
        });
        $deferred = new PushbusBroadcaster($this->config(['port' => $deadPort]));
        $deferred->deferFlushTo($app);
        $deferred->broadcast([new Channel('orders')], 'e', []);
        $this->assertSame([], $reported);
        $this->assertCount(1, $app->terminating);
        ($app->terminating[0])();
        $this->assertCount(1, $reported);
        $this->assertInstanceOf(BroadcastException::class, $reported[0]);
        $this->assertSame(Pushbus\Exception::CONNECT, $reported[0]->getCode());
    }

    public function testMissingCredentialsAreReportedAtConstruction(): void
    {
        $this->expectException(InvalidArgumentException::class);
        new PushbusBroadcaster(['key' => 'k', 'secret' => 's']);
    }

    public function testServerConfigOfPushbusStart(): void
    {
        $config = StartCommand::serverConfig($this->config() + ['server' => [
            'host' => '0.0.0.0', 'port' => '8080',
            'app' => ['allowed_origins' => ['portal.test']],
            'options' => ['path' => '/ws'],
        ]], null, '0');
        $this->assertSame(['host' => '0.0.0.0', 'port' => 0,
            'apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET, 'allowed_origins' => ['portal.test']]],
            'path' => '/ws'], $config);
        // Valid for the server.
        $server = new Server($config);
        $this->assertNull($server->port());
    }
}
