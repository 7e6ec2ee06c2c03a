/*
 * The pushbus PHP extension: shared declarations of its C files (one per class:
 * auth.c, client.c, server.c; pushbus.c holds the module and the helpers).
 *
 * The extension is translation only, like the C library it links: PHP values in,
 * pushbus_* calls, PHP values or a Pushbus\Exception out. The behaviour is the
 * library's.
 */
#ifndef PHP_PUSHBUS_H
#define PHP_PUSHBUS_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <sys/types.h>
#include <unistd.h>

#include "php.h"
#include "pushbus.h"

#define PHP_PUSHBUS_VERSION "0.1.0"

extern zend_module_entry pushbus_module_entry;
#define phpext_pushbus_ptr &pushbus_module_entry

extern zend_class_entry *pushbus_ce_exception;
extern zend_class_entry *pushbus_ce_auth;
extern zend_class_entry *pushbus_ce_client;
extern zend_class_entry *pushbus_ce_server;

/* One native client shared by every Pushbus\Client made with the same options in
 * this process (and thread, under ZTS), so that its keep-alive connection outlives
 * the PHP request: an FPM worker opens it once. Allocated with pemalloc, owned by
 * the module globals' table, freed at module shutdown. */
typedef struct {
  pushbus_client *native; /* NULL until first use, and after a fork until rebuilt */
  pid_t pid;              /* the process that made `native` */
  uint32_t timeout_ms;    /* its request timeout: how long the end-of-request flush waits */
  bool queued;            /* triggers were queued on it during this request */
} pushbus_shared_client;

ZEND_BEGIN_MODULE_GLOBALS(pushbus)
  /* options key => pushbus_shared_client * (persistent memory) */
  HashTable clients;
ZEND_END_MODULE_GLOBALS(pushbus)

ZEND_EXTERN_MODULE_GLOBALS(pushbus)
#define PUSHBUS_G(v) ZEND_MODULE_GLOBALS_ACCESSOR(pushbus, v)

/* Throws Pushbus\Exception with code `r` and the library's message for the last
 * failure on this thread (or the code's text when the library gave none). */
void pushbus_throw(pushbus_result r);

/* Throws Pushbus\Exception with code `r` and a message of our own. */
void pushbus_throw_msg(pushbus_result r, const char *format, ...) ZEND_ATTRIBUTE_FORMAT(printf, 2, 3);

/* Event data as a string: a string is sent verbatim, anything else is json_encode()d
 * (PHP's default flags, as Laravel and the Pusher SDK encode it). Returns a new
 * string, or NULL with an exception thrown. */
zend_string *pushbus_encode_data(zval *data);

/* Channel names from a string or a list of strings, as pushbus_str pointing into the
 * PHP strings (borrowed: valid while the arguments are). *out is emalloc'd (free it
 * with efree) or NULL for an empty list. Returns false with an exception thrown. */
bool pushbus_channels_arg(zend_string *one, HashTable *many, pushbus_str **out, size_t *out_len);

/* Decodes `json` (a library string, freed here) into `return_value` as an array.
 * Returns false with an exception thrown. */
bool pushbus_return_json(char *json, zval *return_value);
/* Like pushbus_return_json, but returns the array under `key` of the decoded object
 * (an empty array when it is missing). */
bool pushbus_return_json_member(char *json, const char *key, zval *return_value);

/* Decodes a base64 encryption master key, which must be 32 bytes. Returns false with
 * an exception thrown. */
bool pushbus_master_key(zend_string *base64, uint8_t out[32]);

/* A pushbus_str for a PHP string, or the NULL string for a NULL zend_string. */
static inline pushbus_str pushbus_zstr(const zend_string *s) {
  pushbus_str r;
  r.data = s ? ZSTR_VAL(s) : NULL;
  r.len = s ? ZSTR_LEN(s) : 0;
  return r;
}

/* Whether a native handle made by process `owner` belongs to another process: this
 * is a forked child of it. */
static inline bool pushbus_forked(pid_t owner) { return owner != getpid(); }

/* Keeps a native handle of a parent process, unused, for the life of this (forked)
 * process instead of freeing it. The library would release it without touching it
 * anyway (its threads are the parent's); parked, its memory stays reachable rather
 * than leaked, as the library does with a parent's runtime. */
void pushbus_park(void *handle);

/* Waits for the triggers queued on `shared` and reports a failure as an E_WARNING:
 * what the end of a request does for each client that queued triggers in it. */
void pushbus_flush_and_warn(pushbus_shared_client *shared);

#endif
