//! Snapshot export buckets (`/groups/{groupId}/backup/exportBuckets`, version 2024-05-30; DELETE 2023-01-01).
