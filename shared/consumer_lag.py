"""How far a consumer group is behind the end of its topics: what it has yet to read and commit."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition


class ConsumerLag:
    """Reads a group's committed offsets and the topics' end offsets, without joining the group."""

    def __init__(self, bootstrap: str, group_id: str, topics: list[str]) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self._consumer: KafkaConsumer | None = None

    def behind(self) -> int:
        """Records on the topics the group has not committed yet (a group that never committed: all of them)."""
        consumer = self._client()
        try:
            partitions = [TopicPartition(topic, p) for topic in self.topics
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends = consumer.end_offsets(partitions)
            starts = consumer.beginning_offsets(partitions)
            total = 0
            for partition in partitions:
                committed = consumer.committed(partition)
                total += max(ends[partition] - (committed if committed is not None else starts[partition]), 0)
            return total
        except Exception:
            self.close()
            raise

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            # A group id lets committed() read the group's offsets; never subscribing keeps us out of it.
            self._consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group_id,
                                           enable_auto_commit=False, request_timeout_ms=10000)
        return self._consumer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
