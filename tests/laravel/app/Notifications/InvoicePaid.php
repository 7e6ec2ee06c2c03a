<?php

namespace App\Notifications;

use Illuminate\Notifications\Messages\BroadcastMessage;
use Illuminate\Notifications\Notification;

/** Broadcast to the user's private App.Models.User.{id} channel. */
class InvoicePaid extends Notification
{
    public function __construct(public int $invoiceId, public string $amount)
    {
    }

    public function via($notifiable)
    {
        return ['broadcast'];
    }

    public function toBroadcast($notifiable)
    {
        return new BroadcastMessage([
            'invoice_id' => $this->invoiceId,
            'amount' => $this->amount,
            'message' => "Invoice #{$this->invoiceId} was paid",
        ]);
    }
}
