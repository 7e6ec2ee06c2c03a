// Compile-only (tsc -p tsconfig.json): the public types used as an application would.
import {
  Server,
  Client,
  authorizeChannel,
  authenticateUser,
  verifyWebhook,
  createSignedQueryString,
  encryptEventData,
  version,
  type ChannelHistory,
  type ChannelInfo,
  type DeliveryRecord,
  type HistoryEvent,
  type Member,
  type OnlineUser,
  type OnlineUsers,
  type PushbusError,
  type UserStatus,
} from '../index.js';

export async function example(): Promise<void> {
  const server = new Server({ apps: [{ id: 'portal', key: 'k', secret: 's', max_connections: 100 }], host: '127.0.0.1', port: 0 });
  const { port } = await server.start();
  const same: number | null = server.port;
  server.on('member_added', ({ channel, userId, appId }) => console.log(channel.length, userId.length, appId, port, same));
  server.on('client_event', (e) => console.log(e.event, e.data, e.userId ?? 'public'));
  server.on('lagged', ({ missed }) => console.log(missed + 1));
  server.on('user_online', ({ userId }) => console.log(userId.length));
  server.on('event_logged', ({ channel, event, record }) => console.log(channel, event, record.delivered, record.digest ?? record.data));
  server.publish(['client.7', 'private-client.7'], 'InvoiceCreated', { id: 1, total: 99 }, { exceptSocketId: '1.2' });
  server.sendToUser('5', 'Notice', 'text');
  const channels: ChannelInfo[] = await server.channels({ prefix: 'presence-' });
  const members: Member[] = await server.members('presence-project.3');
  const closed: number = await server.terminateUserConnections('5');
  const status: UserStatus = await server.userStatus('5');
  const page: OnlineUsers = await server.onlineUsers({ after: '4', limit: 10 });
  const kept: boolean = await server.setUserLocation('5', 'Projects');
  const log: DeliveryRecord[] = await server.deliveryLog({ limit: 10, appId: 'portal' });
  console.log(log[0]?.time, log[0]?.except, log[0]?.user_id, (await server.deliveryLog())[0]?.nodes);
  await server.setUserLocation('5', null, { appId: 'portal' });
  const history: ChannelHistory = await server.history('activity', { since: 2, limit: 10, appId: 'portal' });
  const keptEvents: HistoryEvent[] = (await server.history('activity')).events;
  console.log(history.epoch ?? 'none', history.serial, keptEvents[0]?.serial, keptEvents[0]?.time, keptEvents[0]?.event, keptEvents[0]?.data);
  console.log(status.online, status.last_seen ?? 0, status.channels.length, page.next, page.users[0]?.connections, kept);
  console.log(channels[0]?.userCount, members[0]?.info, closed, await server.connectionCount());
  await server.stop();
  server.unref().ref();

  const client = new Client({ host: '127.0.0.1', port, appId: 'portal', key: 'k', secret: 's' });
  await client.trigger('portal', 'Announcement', { text: 'hi' });
  await client.triggerBatch([{ channel: 'a', name: 'e', data: 1 }]);
  const summary = await client.channel('orders', { info: ['subscription_count'] });
  console.log(summary.subscriptionCount, (await client.members('presence-x')).map((m) => m.id));
  const remote: UserStatus = await client.userStatus('5');
  const users: OnlineUser[] = (await client.onlineUsers({ limit: 5 })).users;
  console.log(remote.location, users.length, await client.setUserLocation('5', null));
  const remoteLog: DeliveryRecord[] = await client.deliveryLog({ limit: 5 });
  const remoteHistory: ChannelHistory = await client.history('private-activity.client.7', { since: 0, limit: 5 });
  console.log(remoteHistory.events.map((e) => e.serial), (await client.history('activity')).serial);
  console.log(remoteLog.map((r) => r.source), (await client.deliveryLog()).length);

  const auth = authorizeChannel({ key: 'k', secret: 's' }, '1.2', 'presence-project.3', { user_id: '5', user_info: { name: 'Ann' } });
  console.log(auth.auth, auth.channel_data, authenticateUser({ key: 'k', secret: 's' }, '1.2', { id: '5' }).user_data);
  console.log(verifyWebhook({ key: 'k', secret: 's' }, { 'x-pusher-key': 'k' }, Buffer.from('{}')));
  console.log(createSignedQueryString({ key: 'k', secret: 's' }, { method: 'GET', path: '/apps/1/channels' }));
  console.log(encryptEventData({ encryptionMasterKeyBase64: 'x' }, 'private-encrypted-a', { a: 1 }));
  const v: string = version;
  console.log(v.split('.').length);

  try {
    server.publish('bad name', 'E', {});
  } catch (err) {
    const e = err as PushbusError;
    if (e.code === 'INVALID_CHANNEL' || e.code === 'HTTP_STATUS') console.log(e.status, e.body);
  }
}
