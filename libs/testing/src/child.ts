// One implementation, in @cdc/stack's process helpers; re-exported here for the specs that import it from testing.
export { exited } from '@cdc/stack';
