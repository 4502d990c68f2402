// Version strings, kept apart so light CLIs need not load the master.
export const PINSETTER_VERSION = "0.1.0";
/** What /v3/maintenance/status reports: etcd's API level, so etcd clients accept us. */
export const ETCD_API_VERSION = "3.4.0";
