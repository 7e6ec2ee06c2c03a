<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

return new class extends Migration
{
    public function up()
    {
        Schema::create('users', function (Blueprint $table) {
            $table->id();
            $table->string('name');
            $table->string('email')->unique();
            $table->string('avatar')->nullable();
            $table->unsignedBigInteger('client_id');
            $table->string('role'); // admin, member or guest (of the client)
            $table->string('api_token', 80)->unique();
            $table->timestamps();
        });

        Schema::create('projects', function (Blueprint $table) {
            $table->id();
            $table->unsignedBigInteger('client_id');
            $table->string('name');
            $table->timestamps();
        });

        // Who is online (TrackPresence keeps it from pushbus's member events).
        Schema::create('user_presence', function (Blueprint $table) {
            $table->unsignedBigInteger('user_id')->primary();
            $table->string('status');
            $table->string('channel')->nullable();
            $table->timestamp('last_seen_at')->nullable();
        });

        // What pushbus delivered (RecordRealtimeEvent writes it from the delivery log's
        // event_logged events): the seed's "for debugging" table.
        Schema::create('realtime_events', function (Blueprint $table) {
            $table->id();
            $table->string('event_id')->unique();
            $table->string('channel');
            $table->string('event_type');
            $table->text('payload')->nullable();
            $table->string('digest', 64)->nullable();
            $table->unsignedInteger('size');
            $table->unsignedInteger('delivered');
            $table->string('except_socket')->nullable();
            $table->string('source');
            $table->timestamp('published_at');
        });
    }

    public function down()
    {
        Schema::dropIfExists('realtime_events');
        Schema::dropIfExists('user_presence');
        Schema::dropIfExists('projects');
        Schema::dropIfExists('users');
    }
};
