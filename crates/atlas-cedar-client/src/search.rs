//! Atlas Search and Vector Search indexes (`/groups/{groupId}/clusters/{clusterName}/search/indexes`, version 2024-05-30).
