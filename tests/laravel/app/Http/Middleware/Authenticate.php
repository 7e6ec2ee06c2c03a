<?php

namespace App\Http\Middleware;

use Illuminate\Auth\Middleware\Authenticate as Middleware;

/** API only: an unauthenticated request gets 401, never a redirect to a login page. */
class Authenticate extends Middleware
{
    protected function redirectTo($request)
    {
        return null;
    }
}
