import { QueuesClient, projectId } from '@cloud-queues/client';

const client = new QueuesClient({ url: process.env.QUEUES_URL ?? 'http://127.0.0.1:8888', auth: projectId('demo') });
const jobs = client.queue('jobs');
const ids = await jobs.post([{ body: { job: 1 }, ttl: 300 }, { body: { job: 2 } }]);
console.log('posted', ids);
for await (const message of jobs.messages({ echo: true })) console.log(message.id, message.body);
console.log(await jobs.stats());
