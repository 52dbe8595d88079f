// Hand-off queues: moodycamel::ConcurrentQueue as rill-proj uses it between
// its receive thread and its projector thread (readmodels/runtime_feed: one
// producer, one consumer, explicit tokens, bulk dequeue), for 8-byte items
// and for ZeroMQ messages (the feed's event bodies), next to a mutex +
// std::deque baseline. Items/s counts items that crossed from the producer
// thread to the consumer thread (real time: two threads work at once).
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <concurrentqueue/concurrentqueue.h>
#include <zmq.hpp>

namespace {

constexpr size_t kItems = 1 << 20;

// One producer thread enqueues kItems; the benchmark thread dequeues them in
// bulks of range(0) (1 = one at a time).
void BM_moodycamel_u64(benchmark::State& state) {
  const size_t bulk = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    moodycamel::ConcurrentQueue<uint64_t> q(1 << 16);
    std::thread producer([&] {
      moodycamel::ProducerToken tok(q);
      for (uint64_t i = 0; i < kItems; ++i)
        while (!q.enqueue(tok, i)) {
        }
    });
    moodycamel::ConsumerToken ctok(q);
    std::vector<uint64_t> buf(bulk);
    size_t got = 0;
    uint64_t sum = 0;
    while (got < kItems) {
      const size_t n = bulk == 1 ? (q.try_dequeue(ctok, buf[0]) ? 1 : 0)
                                 : q.try_dequeue_bulk(ctok, buf.begin(), bulk);
      for (size_t k = 0; k < n; ++k) sum += buf[k];
      got += n;
    }
    producer.join();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_moodycamel_u64)->Arg(1)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

// The feed's case: 150-byte zmq::message_t bodies moved through the queue.
void BM_moodycamel_zmq_message(benchmark::State& state) {
  const size_t bulk = static_cast<size_t>(state.range(0));
  constexpr size_t kMessages = kItems / 4;
  const std::string body(150, 'e');
  for (auto _ : state) {
    moodycamel::ConcurrentQueue<zmq::message_t> q(1 << 16);
    std::thread producer([&] {
      moodycamel::ProducerToken tok(q);
      for (size_t i = 0; i < kMessages; ++i) {
        zmq::message_t m(body.data(), body.size());
        while (!q.enqueue(tok, std::move(m))) {
        }
      }
    });
    moodycamel::ConsumerToken ctok(q);
    std::vector<zmq::message_t> buf(bulk);
    size_t got = 0, bytes = 0;
    while (got < kMessages) {
      const size_t n = q.try_dequeue_bulk(ctok, buf.begin(), bulk);
      for (size_t k = 0; k < n; ++k) bytes += buf[k].size();
      got += n;
    }
    producer.join();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kMessages));
}
BENCHMARK(BM_moodycamel_zmq_message)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

// Baseline: a mutex around a std::deque, the consumer swapping out what is there.
void BM_mutex_deque_u64(benchmark::State& state) {
  for (auto _ : state) {
    std::mutex mu;
    std::deque<uint64_t> q;
    std::thread producer([&] {
      for (uint64_t i = 0; i < kItems; ++i) {
        std::lock_guard<std::mutex> lock(mu);
        q.push_back(i);
      }
    });
    std::deque<uint64_t> mine;
    size_t got = 0;
    uint64_t sum = 0;
    while (got < kItems) {
      {
        std::lock_guard<std::mutex> lock(mu);
        mine.swap(q);
      }
      for (uint64_t v : mine) sum += v;
      got += mine.size();
      mine.clear();
    }
    producer.join();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_mutex_deque_u64)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
