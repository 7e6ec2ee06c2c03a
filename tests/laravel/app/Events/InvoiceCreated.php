<?php

namespace App\Events;

use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;
use Illuminate\Foundation\Events\Dispatchable;

/** A new invoice for a client: everyone of that client sees it at once. */
class InvoiceCreated implements ShouldBroadcastNow
{
    use Dispatchable, InteractsWithSockets;

    public function __construct(public array $invoice)
    {
    }

    public function broadcastOn()
    {
        return new PrivateChannel('client.'.$this->invoice['client_id']);
    }

    public function broadcastAs()
    {
        return 'invoice.created';
    }

    public function broadcastWith()
    {
        return [
            'id' => $this->invoice['id'],
            'number' => $this->invoice['number'],
            'total' => $this->invoice['total'],
            'url' => 'https://portal.test/invoices/'.$this->invoice['id'],
        ];
    }
}
