import { runRecordsContract } from './contract/records-contract';
import { MemoryRecords } from './records';

runRecordsContract('memory', async () => ({
  records: new MemoryRecords(),
  cleanup: async () => {},
}));
