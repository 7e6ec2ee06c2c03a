/* This is a generated file, edit the .stub.php file instead.
 * Stub hash: 4acc92771daa391ee6bda40745bc8181fe1cae7e */

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_Pushbus_version, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Auth_authorizeChannel, 0, 4, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, secret, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, socketId, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, channelData, IS_STRING, 1, "null")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, encryptionMasterKeyBase64, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Auth_authenticateUser, 0, 4, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, secret, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, socketId, IS_STRING, 0)
	ZEND_ARG_TYPE_MASK(0, userData, MAY_BE_STRING|MAY_BE_ARRAY, NULL)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Auth_verifyWebhook, 0, 5, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, secret, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, keyHeader, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, signatureHeader, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, body, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Auth_sharedSecret, 0, 2, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, encryptionMasterKeyBase64, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Auth_encryptData, 0, 3, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, encryptionMasterKeyBase64, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, plaintext, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, nonce, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Auth_signRequest, 0, 4, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, secret, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, method, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, path, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, query, IS_ARRAY, 0, "[]")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, body, IS_STRING, 0, "\"\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, timestamp, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_INFO_EX(arginfo_class_Pushbus_Client___construct, 0, 0, 1)
	ZEND_ARG_TYPE_INFO(0, options, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_trigger, 0, 3, IS_VOID, 0)
	ZEND_ARG_TYPE_MASK(0, channels, MAY_BE_STRING|MAY_BE_ARRAY, NULL)
	ZEND_ARG_TYPE_INFO(0, event, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, data, IS_MIXED, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, socketId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_flush, 0, 0, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, timeout, IS_DOUBLE, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_triggerBatch, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, events, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_sendToUser, 0, 3, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, event, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, data, IS_MIXED, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_channels, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, prefix, IS_STRING, 1, "null")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, info, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_channel, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, info, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_users, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_terminateUserConnections, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_userStatus, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_onlineUsers, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, after, IS_STRING, 0, "\"\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, limit, IS_LONG, 0, "100")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_setUserLocation, 0, 2, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, location, IS_STRING, 1)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_deliveryLog, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, limit, IS_LONG, 0, "100")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Client_history, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, since, IS_LONG, 0, "0")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, limit, IS_LONG, 0, "100")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_INFO_EX(arginfo_class_Pushbus_Server___construct, 0, 0, 1)
	ZEND_ARG_TYPE_INFO(0, config, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_start, 0, 0, IS_LONG, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, address, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_port, 0, 0, IS_LONG, 1)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_publish, 0, 3, IS_VOID, 0)
	ZEND_ARG_TYPE_MASK(0, channels, MAY_BE_STRING|MAY_BE_ARRAY, NULL)
	ZEND_ARG_TYPE_INFO(0, event, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, data, IS_MIXED, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, socketId, IS_STRING, 1, "null")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_poll, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, timeoutMs, IS_LONG, 0, "0")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, max, IS_LONG, 0, "100")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_channels, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, prefix, IS_STRING, 1, "null")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_channel, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

#define arginfo_class_Pushbus_Server_members arginfo_class_Pushbus_Server_channel

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_connectionCount, 0, 0, IS_LONG, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_webhookStats, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_reloadTls, 0, 0, IS_VOID, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_Pushbus_Server_metricsText arginfo_Pushbus_version

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_terminateUserConnections, 0, 1, IS_LONG, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_userStatus, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_onlineUsers, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, after, IS_STRING, 0, "\"\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, limit, IS_LONG, 0, "100")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_setUserLocation, 0, 2, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, userId, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, location, IS_STRING, 1)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_deliveryLog, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, limit, IS_LONG, 0, "100")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Pushbus_Server_history, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, since, IS_LONG, 0, "0")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, limit, IS_LONG, 0, "100")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, appId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

#define arginfo_class_Pushbus_Server_stop arginfo_class_Pushbus_Server_reloadTls


ZEND_FUNCTION(Pushbus_version);
ZEND_METHOD(Pushbus_Auth, authorizeChannel);
ZEND_METHOD(Pushbus_Auth, authenticateUser);
ZEND_METHOD(Pushbus_Auth, verifyWebhook);
ZEND_METHOD(Pushbus_Auth, sharedSecret);
ZEND_METHOD(Pushbus_Auth, encryptData);
ZEND_METHOD(Pushbus_Auth, signRequest);
ZEND_METHOD(Pushbus_Client, __construct);
ZEND_METHOD(Pushbus_Client, trigger);
ZEND_METHOD(Pushbus_Client, flush);
ZEND_METHOD(Pushbus_Client, triggerBatch);
ZEND_METHOD(Pushbus_Client, sendToUser);
ZEND_METHOD(Pushbus_Client, channels);
ZEND_METHOD(Pushbus_Client, channel);
ZEND_METHOD(Pushbus_Client, users);
ZEND_METHOD(Pushbus_Client, terminateUserConnections);
ZEND_METHOD(Pushbus_Client, userStatus);
ZEND_METHOD(Pushbus_Client, onlineUsers);
ZEND_METHOD(Pushbus_Client, setUserLocation);
ZEND_METHOD(Pushbus_Client, deliveryLog);
ZEND_METHOD(Pushbus_Client, history);
ZEND_METHOD(Pushbus_Server, __construct);
ZEND_METHOD(Pushbus_Server, start);
ZEND_METHOD(Pushbus_Server, port);
ZEND_METHOD(Pushbus_Server, publish);
ZEND_METHOD(Pushbus_Server, poll);
ZEND_METHOD(Pushbus_Server, channels);
ZEND_METHOD(Pushbus_Server, channel);
ZEND_METHOD(Pushbus_Server, members);
ZEND_METHOD(Pushbus_Server, connectionCount);
ZEND_METHOD(Pushbus_Server, webhookStats);
ZEND_METHOD(Pushbus_Server, reloadTls);
ZEND_METHOD(Pushbus_Server, metricsText);
ZEND_METHOD(Pushbus_Server, terminateUserConnections);
ZEND_METHOD(Pushbus_Server, userStatus);
ZEND_METHOD(Pushbus_Server, onlineUsers);
ZEND_METHOD(Pushbus_Server, setUserLocation);
ZEND_METHOD(Pushbus_Server, deliveryLog);
ZEND_METHOD(Pushbus_Server, history);
ZEND_METHOD(Pushbus_Server, stop);


static const zend_function_entry ext_functions[] = {
	ZEND_NS_FALIAS("Pushbus", version, Pushbus_version, arginfo_Pushbus_version)
	ZEND_FE_END
};


static const zend_function_entry class_Pushbus_Exception_methods[] = {
	ZEND_FE_END
};


static const zend_function_entry class_Pushbus_Auth_methods[] = {
	ZEND_ME(Pushbus_Auth, authorizeChannel, arginfo_class_Pushbus_Auth_authorizeChannel, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Pushbus_Auth, authenticateUser, arginfo_class_Pushbus_Auth_authenticateUser, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Pushbus_Auth, verifyWebhook, arginfo_class_Pushbus_Auth_verifyWebhook, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Pushbus_Auth, sharedSecret, arginfo_class_Pushbus_Auth_sharedSecret, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Pushbus_Auth, encryptData, arginfo_class_Pushbus_Auth_encryptData, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Pushbus_Auth, signRequest, arginfo_class_Pushbus_Auth_signRequest, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_FE_END
};


static const zend_function_entry class_Pushbus_Client_methods[] = {
	ZEND_ME(Pushbus_Client, __construct, arginfo_class_Pushbus_Client___construct, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, trigger, arginfo_class_Pushbus_Client_trigger, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, flush, arginfo_class_Pushbus_Client_flush, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, triggerBatch, arginfo_class_Pushbus_Client_triggerBatch, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, sendToUser, arginfo_class_Pushbus_Client_sendToUser, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, channels, arginfo_class_Pushbus_Client_channels, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, channel, arginfo_class_Pushbus_Client_channel, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, users, arginfo_class_Pushbus_Client_users, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, terminateUserConnections, arginfo_class_Pushbus_Client_terminateUserConnections, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, userStatus, arginfo_class_Pushbus_Client_userStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, onlineUsers, arginfo_class_Pushbus_Client_onlineUsers, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, setUserLocation, arginfo_class_Pushbus_Client_setUserLocation, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, deliveryLog, arginfo_class_Pushbus_Client_deliveryLog, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Client, history, arginfo_class_Pushbus_Client_history, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};


static const zend_function_entry class_Pushbus_Server_methods[] = {
	ZEND_ME(Pushbus_Server, __construct, arginfo_class_Pushbus_Server___construct, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, start, arginfo_class_Pushbus_Server_start, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, port, arginfo_class_Pushbus_Server_port, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, publish, arginfo_class_Pushbus_Server_publish, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, poll, arginfo_class_Pushbus_Server_poll, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, channels, arginfo_class_Pushbus_Server_channels, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, channel, arginfo_class_Pushbus_Server_channel, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, members, arginfo_class_Pushbus_Server_members, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, connectionCount, arginfo_class_Pushbus_Server_connectionCount, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, webhookStats, arginfo_class_Pushbus_Server_webhookStats, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, reloadTls, arginfo_class_Pushbus_Server_reloadTls, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, metricsText, arginfo_class_Pushbus_Server_metricsText, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, terminateUserConnections, arginfo_class_Pushbus_Server_terminateUserConnections, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, userStatus, arginfo_class_Pushbus_Server_userStatus, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, onlineUsers, arginfo_class_Pushbus_Server_onlineUsers, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, setUserLocation, arginfo_class_Pushbus_Server_setUserLocation, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, deliveryLog, arginfo_class_Pushbus_Server_deliveryLog, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, history, arginfo_class_Pushbus_Server_history, ZEND_ACC_PUBLIC)
	ZEND_ME(Pushbus_Server, stop, arginfo_class_Pushbus_Server_stop, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};

static zend_class_entry *register_class_Pushbus_Exception(zend_class_entry *class_entry_RuntimeException)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Pushbus", "Exception", class_Pushbus_Exception_methods);
	class_entry = zend_register_internal_class_ex(&ce, class_entry_RuntimeException);

	zval const_PANIC_value;
	ZVAL_LONG(&const_PANIC_value, PUSHBUS_RESULT_PANIC);
	zend_string *const_PANIC_name = zend_string_init_interned("PANIC", sizeof("PANIC") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_PANIC_name, &const_PANIC_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_PANIC_name);

	zval const_NULL_PARAMETER_value;
	ZVAL_LONG(&const_NULL_PARAMETER_value, PUSHBUS_RESULT_NULL_PARAMETER);
	zend_string *const_NULL_PARAMETER_name = zend_string_init_interned("NULL_PARAMETER", sizeof("NULL_PARAMETER") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_NULL_PARAMETER_name, &const_NULL_PARAMETER_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_NULL_PARAMETER_name);

	zval const_INVALID_UTF8_value;
	ZVAL_LONG(&const_INVALID_UTF8_value, PUSHBUS_RESULT_INVALID_UTF8);
	zend_string *const_INVALID_UTF8_name = zend_string_init_interned("INVALID_UTF8", sizeof("INVALID_UTF8") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_UTF8_name, &const_INVALID_UTF8_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_UTF8_name);

	zval const_INVALID_ARGUMENT_value;
	ZVAL_LONG(&const_INVALID_ARGUMENT_value, PUSHBUS_RESULT_INVALID_ARGUMENT);
	zend_string *const_INVALID_ARGUMENT_name = zend_string_init_interned("INVALID_ARGUMENT", sizeof("INVALID_ARGUMENT") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_ARGUMENT_name, &const_INVALID_ARGUMENT_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_ARGUMENT_name);

	zval const_RUNTIME_value;
	ZVAL_LONG(&const_RUNTIME_value, PUSHBUS_RESULT_RUNTIME);
	zend_string *const_RUNTIME_name = zend_string_init_interned("RUNTIME", sizeof("RUNTIME") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RUNTIME_name, &const_RUNTIME_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RUNTIME_name);

	zval const_FORKED_value;
	ZVAL_LONG(&const_FORKED_value, PUSHBUS_RESULT_FORKED);
	zend_string *const_FORKED_name = zend_string_init_interned("FORKED", sizeof("FORKED") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_FORKED_name, &const_FORKED_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_FORKED_name);

	zval const_TIMEOUT_value;
	ZVAL_LONG(&const_TIMEOUT_value, PUSHBUS_RESULT_TIMEOUT);
	zend_string *const_TIMEOUT_name = zend_string_init_interned("TIMEOUT", sizeof("TIMEOUT") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_TIMEOUT_name, &const_TIMEOUT_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_TIMEOUT_name);

	zval const_CLOSED_value;
	ZVAL_LONG(&const_CLOSED_value, PUSHBUS_RESULT_CLOSED);
	zend_string *const_CLOSED_name = zend_string_init_interned("CLOSED", sizeof("CLOSED") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_CLOSED_name, &const_CLOSED_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_CLOSED_name);

	zval const_INVALID_SIGNATURE_value;
	ZVAL_LONG(&const_INVALID_SIGNATURE_value, PUSHBUS_RESULT_INVALID_SIGNATURE);
	zend_string *const_INVALID_SIGNATURE_name = zend_string_init_interned("INVALID_SIGNATURE", sizeof("INVALID_SIGNATURE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_SIGNATURE_name, &const_INVALID_SIGNATURE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_SIGNATURE_name);

	zval const_CONFIG_value;
	ZVAL_LONG(&const_CONFIG_value, PUSHBUS_RESULT_CONFIG);
	zend_string *const_CONFIG_name = zend_string_init_interned("CONFIG", sizeof("CONFIG") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_CONFIG_name, &const_CONFIG_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_CONFIG_name);

	zval const_UNKNOWN_APP_value;
	ZVAL_LONG(&const_UNKNOWN_APP_value, PUSHBUS_RESULT_UNKNOWN_APP);
	zend_string *const_UNKNOWN_APP_name = zend_string_init_interned("UNKNOWN_APP", sizeof("UNKNOWN_APP") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_UNKNOWN_APP_name, &const_UNKNOWN_APP_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_UNKNOWN_APP_name);

	zval const_APP_DISABLED_value;
	ZVAL_LONG(&const_APP_DISABLED_value, PUSHBUS_RESULT_APP_DISABLED);
	zend_string *const_APP_DISABLED_name = zend_string_init_interned("APP_DISABLED", sizeof("APP_DISABLED") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_APP_DISABLED_name, &const_APP_DISABLED_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_APP_DISABLED_name);

	zval const_INVALID_CHANNEL_value;
	ZVAL_LONG(&const_INVALID_CHANNEL_value, PUSHBUS_RESULT_INVALID_CHANNEL);
	zend_string *const_INVALID_CHANNEL_name = zend_string_init_interned("INVALID_CHANNEL", sizeof("INVALID_CHANNEL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_CHANNEL_name, &const_INVALID_CHANNEL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_CHANNEL_name);

	zval const_NO_CHANNELS_value;
	ZVAL_LONG(&const_NO_CHANNELS_value, PUSHBUS_RESULT_NO_CHANNELS);
	zend_string *const_NO_CHANNELS_name = zend_string_init_interned("NO_CHANNELS", sizeof("NO_CHANNELS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_NO_CHANNELS_name, &const_NO_CHANNELS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_NO_CHANNELS_name);

	zval const_TOO_MANY_CHANNELS_value;
	ZVAL_LONG(&const_TOO_MANY_CHANNELS_value, PUSHBUS_RESULT_TOO_MANY_CHANNELS);
	zend_string *const_TOO_MANY_CHANNELS_name = zend_string_init_interned("TOO_MANY_CHANNELS", sizeof("TOO_MANY_CHANNELS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_TOO_MANY_CHANNELS_name, &const_TOO_MANY_CHANNELS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_TOO_MANY_CHANNELS_name);

	zval const_ENCRYPTED_WITH_OTHERS_value;
	ZVAL_LONG(&const_ENCRYPTED_WITH_OTHERS_value, PUSHBUS_RESULT_ENCRYPTED_WITH_OTHERS);
	zend_string *const_ENCRYPTED_WITH_OTHERS_name = zend_string_init_interned("ENCRYPTED_WITH_OTHERS", sizeof("ENCRYPTED_WITH_OTHERS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_ENCRYPTED_WITH_OTHERS_name, &const_ENCRYPTED_WITH_OTHERS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_ENCRYPTED_WITH_OTHERS_name);

	zval const_INVALID_EVENT_NAME_value;
	ZVAL_LONG(&const_INVALID_EVENT_NAME_value, PUSHBUS_RESULT_INVALID_EVENT_NAME);
	zend_string *const_INVALID_EVENT_NAME_name = zend_string_init_interned("INVALID_EVENT_NAME", sizeof("INVALID_EVENT_NAME") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_EVENT_NAME_name, &const_INVALID_EVENT_NAME_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_EVENT_NAME_name);

	zval const_DATA_TOO_LARGE_value;
	ZVAL_LONG(&const_DATA_TOO_LARGE_value, PUSHBUS_RESULT_DATA_TOO_LARGE);
	zend_string *const_DATA_TOO_LARGE_name = zend_string_init_interned("DATA_TOO_LARGE", sizeof("DATA_TOO_LARGE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_DATA_TOO_LARGE_name, &const_DATA_TOO_LARGE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_DATA_TOO_LARGE_name);

	zval const_INVALID_SOCKET_ID_value;
	ZVAL_LONG(&const_INVALID_SOCKET_ID_value, PUSHBUS_RESULT_INVALID_SOCKET_ID);
	zend_string *const_INVALID_SOCKET_ID_name = zend_string_init_interned("INVALID_SOCKET_ID", sizeof("INVALID_SOCKET_ID") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_SOCKET_ID_name, &const_INVALID_SOCKET_ID_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_SOCKET_ID_name);

	zval const_BATCH_TOO_LARGE_value;
	ZVAL_LONG(&const_BATCH_TOO_LARGE_value, PUSHBUS_RESULT_BATCH_TOO_LARGE);
	zend_string *const_BATCH_TOO_LARGE_name = zend_string_init_interned("BATCH_TOO_LARGE", sizeof("BATCH_TOO_LARGE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_BATCH_TOO_LARGE_name, &const_BATCH_TOO_LARGE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_BATCH_TOO_LARGE_name);

	zval const_NOT_PRESENCE_CHANNEL_value;
	ZVAL_LONG(&const_NOT_PRESENCE_CHANNEL_value, PUSHBUS_RESULT_NOT_PRESENCE_CHANNEL);
	zend_string *const_NOT_PRESENCE_CHANNEL_name = zend_string_init_interned("NOT_PRESENCE_CHANNEL", sizeof("NOT_PRESENCE_CHANNEL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_NOT_PRESENCE_CHANNEL_name, &const_NOT_PRESENCE_CHANNEL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_NOT_PRESENCE_CHANNEL_name);

	zval const_BIND_value;
	ZVAL_LONG(&const_BIND_value, PUSHBUS_RESULT_BIND);
	zend_string *const_BIND_name = zend_string_init_interned("BIND", sizeof("BIND") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_BIND_name, &const_BIND_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_BIND_name);

	zval const_ALREADY_STARTED_value;
	ZVAL_LONG(&const_ALREADY_STARTED_value, PUSHBUS_RESULT_ALREADY_STARTED);
	zend_string *const_ALREADY_STARTED_name = zend_string_init_interned("ALREADY_STARTED", sizeof("ALREADY_STARTED") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_ALREADY_STARTED_name, &const_ALREADY_STARTED_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_ALREADY_STARTED_name);

	zval const_NOT_RUNNING_value;
	ZVAL_LONG(&const_NOT_RUNNING_value, PUSHBUS_RESULT_NOT_RUNNING);
	zend_string *const_NOT_RUNNING_name = zend_string_init_interned("NOT_RUNNING", sizeof("NOT_RUNNING") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_NOT_RUNNING_name, &const_NOT_RUNNING_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_NOT_RUNNING_name);

	zval const_CONNECT_value;
	ZVAL_LONG(&const_CONNECT_value, PUSHBUS_RESULT_CONNECT);
	zend_string *const_CONNECT_name = zend_string_init_interned("CONNECT", sizeof("CONNECT") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_CONNECT_name, &const_CONNECT_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_CONNECT_name);

	zval const_HTTP_STATUS_value;
	ZVAL_LONG(&const_HTTP_STATUS_value, PUSHBUS_RESULT_HTTP_STATUS);
	zend_string *const_HTTP_STATUS_name = zend_string_init_interned("HTTP_STATUS", sizeof("HTTP_STATUS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_HTTP_STATUS_name, &const_HTTP_STATUS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_HTTP_STATUS_name);

	zval const_INVALID_RESPONSE_value;
	ZVAL_LONG(&const_INVALID_RESPONSE_value, PUSHBUS_RESULT_INVALID_RESPONSE);
	zend_string *const_INVALID_RESPONSE_name = zend_string_init_interned("INVALID_RESPONSE", sizeof("INVALID_RESPONSE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_RESPONSE_name, &const_INVALID_RESPONSE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_RESPONSE_name);

	return class_entry;
}

static zend_class_entry *register_class_Pushbus_Auth(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Pushbus", "Auth", class_Pushbus_Auth_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NOT_SERIALIZABLE;

	return class_entry;
}

static zend_class_entry *register_class_Pushbus_Client(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Pushbus", "Client", class_Pushbus_Client_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NOT_SERIALIZABLE;

	return class_entry;
}

static zend_class_entry *register_class_Pushbus_Server(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Pushbus", "Server", class_Pushbus_Server_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NOT_SERIALIZABLE;

	return class_entry;
}
