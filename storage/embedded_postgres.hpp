#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nyxgate::storage {

struct embedded_options {
  /// The cluster lives in <data_dir>/postgres, its socket in <data_dir>/postgres/run, the server
  /// log in <data_dir>/postgres.log.
  std::string data_dir;
  /// fsync=off, synchronous_commit=off, full_page_writes=off, initdb --no-sync (tests only).
  bool fast_unsafe = false;
  std::chrono::seconds startup_timeout{60};
  /// Created on first start.
  std::string database = "nyxgate";
  /// Only the socket file's suffix (.s.PGSQL.<port>): the server never listens on TCP.
  unsigned short port = 5432;
  /// Directory holding `initdb` and `postgres`; empty: the version matching the cluster, else
  /// the newest of /usr/lib/postgresql/*/bin, else PATH.
  std::string bin_dir;
};

/// A private PostgreSQL cluster run as a child process, the way embedded-postgres libraries do in
/// other ecosystems: initdb on first use, unix socket only, stopped with its owner.
/// Not thread-safe: one owner drives start/stop/restart.
class embedded_postgres {
 public:
  /// initdb on first use, starts `postgres`, waits until it accepts connections and creates
  /// `database` if missing. Throws std::runtime_error (with the tail of the server log).
  static std::unique_ptr<embedded_postgres> start(embedded_options opts);
  /// When another process (a serving nyxgate) owns the cluster under `opts.data_dir`: the
  /// conninfo of its running server, read from postmaster.pid, so a command can work beside it.
  /// Nothing when the data directory is free. Throws std::runtime_error when it is owned but its
  /// server is not up (a restart under way).
  static std::optional<std::string> conninfo_of_running(const embedded_options& opts);
  ~embedded_postgres();
  embedded_postgres(const embedded_postgres&) = delete;
  embedded_postgres& operator=(const embedded_postgres&) = delete;

  /// libpq conninfo: "host=<abs socket dir> port=<port> user=nyxgate dbname=<database>".
  std::string conninfo() const;
  std::string conninfo_for(std::string_view database) const;
  /// Fast shutdown (SIGINT), up to 30 s, then SIGQUIT, then SIGKILL. Idempotent.
  void stop();
  /// stop(), then start again on the same data directory. After a crash (see reap_if_exited)
  /// it only starts. Throws std::runtime_error like start(); the server is then stopped.
  void restart();
  /// Reaps the postmaster if it has exited (never blocks): how it ended ("killed by signal
  /// Killed"), or nothing while it runs. Afterwards postmaster_pid() is -1.
  std::optional<std::string> reap_if_exited();
  /// The running postmaster, or -1 once stopped.
  pid_t postmaster_pid() const { return pid_.load(); }

  const std::string& cluster_dir() const { return cluster_dir_; }
  const std::string& socket_dir() const { return socket_dir_; }
  const std::string& log_file() const { return log_file_; }

  /// The account the server processes run as (when nyxgate runs as root: `postgres`).
  struct server_account {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
  };

 private:
  explicit embedded_postgres(embedded_options opts);
  void open_data_dir();
  void initialise_cluster();
  void prepare_cluster_dir();
  void choose_socket_dir();
  void launch();
  void clear_stale_server();
  void wait_until_ready(std::chrono::steady_clock::time_point deadline);
  void ensure_database();
  void kill_now();

  embedded_options opts_;
  std::string data_dir_;
  std::string cluster_dir_;
  std::string socket_dir_;
  std::string log_file_;
  std::string bin_dir_;
  std::optional<server_account> account_;
  bool socket_dir_is_temporary_ = false;
  int lock_fd_ = -1;
  /// Atomic so that other threads may read postmaster_pid() while a supervisor restarts it.
  std::atomic<pid_t> pid_{-1};
};

}  // namespace nyxgate::storage
