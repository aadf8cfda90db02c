import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Writes a log's lines to a topic with the Java producer from the Kafka distribution, as
 * production producers do: a chosen compression codec, large batches (linger.ms, batch.size),
 * and transactions, some of them aborted while a second transactional producer aborts
 * transactions of its own at the same time.
 *
 *   java -cp LIB/*:CLASSES ProduceLines BROKERS TOPIC FILE CODEC CHUNK ABORT_EVERY NOISE_TXNS NOISE_SIZE
 *
 * CHUNK 0: no transactions (an idempotent producer sends every line once). Otherwise producer
 * A writes the lines in transactions of CHUNK lines, and every ABORT_EVERY-th chunk (0: none)
 * is first written and aborted, then written again and committed. Producer B meanwhile writes
 * transactions of NOISE_SIZE copies of the log's first line and aborts every one, for as long as
 * A writes (at most NOISE_TXNS of them), so that aborted transactions of both overlap.
 * Only the log's lines, each once, are committed. Records are keyed (by line number; B's by their
 * own number), so every transaction spreads over all partitions and the two producers' batches
 * interleave in each; a compacted topic needs keys too. Prints "committed N".
 */
public final class ProduceLines {
  public static void main(String[] args) throws Exception {
    String brokers = args[0];
    String topic = args[1];
    List<String> lines = new ArrayList<>();
    for (String line : Files.readAllLines(Paths.get(args[2]), StandardCharsets.UTF_8)) {
      if (!line.isBlank()) lines.add(line);
    }
    String codec = args[3];
    int chunk = Integer.parseInt(args[4]);
    int abortEvery = Integer.parseInt(args[5]);
    int noiseTxns = Integer.parseInt(args[6]);
    int noiseSize = Integer.parseInt(args[7]);

    AtomicBoolean writing = new AtomicBoolean(true);
    Thread noise = new Thread(() -> {
      if (noiseTxns == 0) return;
      try (KafkaProducer<byte[], byte[]> b = producer(brokers, codec, "prio-noise-" + UUID.randomUUID())) {
        b.initTransactions();
        byte[] value = lines.get(0).getBytes(StandardCharsets.UTF_8);
        for (int t = 0; t < noiseTxns && writing.get(); t++) {
          b.beginTransaction();
          for (int i = 0; i < noiseSize; i++) b.send(new ProducerRecord<>(topic, ("noise-" + i).getBytes(StandardCharsets.UTF_8), value));
          b.flush();
          b.abortTransaction();
        }
      }
    });
    noise.start();

    try (KafkaProducer<byte[], byte[]> a = producer(brokers, codec, chunk == 0 ? null : "prio-lines-" + UUID.randomUUID())) {
      if (chunk == 0) {
        for (int i = 0; i < lines.size(); i++) a.send(record(topic, lines, i));
        a.flush();
      } else {
        a.initTransactions();
        for (int start = 0, n = 0; start < lines.size(); start += chunk, n++) {
          int end = Math.min(lines.size(), start + chunk);
          if (abortEvery > 0 && n % abortEvery == abortEvery - 1) {
            a.beginTransaction();
            for (int i = start; i < end; i++) a.send(record(topic, lines, i));
            a.flush();
            a.abortTransaction();
          }
          a.beginTransaction();
          for (int i = start; i < end; i++) a.send(record(topic, lines, i));
          a.commitTransaction();
        }
      }
    }
    writing.set(false);
    noise.join();
    System.out.println("committed " + lines.size());
  }

  private static ProducerRecord<byte[], byte[]> record(String topic, List<String> lines, int i) {
    return new ProducerRecord<>(topic, ("line-" + i).getBytes(StandardCharsets.UTF_8), lines.get(i).getBytes(StandardCharsets.UTF_8));
  }

  private static KafkaProducer<byte[], byte[]> producer(String brokers, String codec, String transactionalId) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    // Large batches, as a busy production producer sends them.
    p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    if (transactionalId != null) p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return new KafkaProducer<>(p);
  }
}
