#include "storage/embedded_postgres.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "telemetry/log.hpp"

namespace nyxgate::storage {
namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using account = embedded_postgres::server_account;

/// sizeof(sockaddr_un::sun_path) minus the terminating NUL.
constexpr std::size_t max_socket_path = 107;
constexpr auto initdb_timeout = std::chrono::minutes(5);
constexpr auto fast_shutdown_grace = std::chrono::seconds(30);
constexpr auto immediate_shutdown_grace = std::chrono::seconds(5);
/// How long the backends of a crashed postmaster get to notice its death and exit.
constexpr auto leftover_grace = std::chrono::seconds(10);
constexpr auto poll_interval = std::chrono::milliseconds(50);
constexpr const char* superuser = "nyxgate";

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("embedded postgres: " + what);
}

std::string errno_text(int e) {
  return std::system_category().message(e);
}

/// The end of the server log, cut at a line start: what postgres said about a failure.
std::string log_tail(const std::string& path, std::size_t max_bytes = 3000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no server log at " + path + ")";
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  auto from = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (from > 0) {
    if (auto nl = text.find('\n'); nl != std::string::npos) text.erase(0, nl + 1);
  }
  // At most the last 20 lines: postgres' reason is at the very end.
  std::size_t cut = text.size(), lines = 0;
  while (cut > 0 && lines <= 20) {
    cut = text.rfind('\n', cut - 1);
    if (cut == std::string::npos) return text;
    ++lines;
  }
  return lines > 20 ? text.substr(cut + 1) : text;
}

std::string with_log(const std::string& what, const std::string& log_file) {
  return what + "; end of " + log_file + ":\n" + log_tail(log_file);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string{"killed by signal "} + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

/// Reaps `pid` if it exits within `timeout`; true when it is gone.
bool wait_exit(pid_t pid, clock::duration timeout, int* status = nullptr) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (status) *status = st;
      return true;
    }
    if (r < 0 && errno != EINTR) return true;  // ECHILD: not ours any more
    if (clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll_interval);
  }
}

std::string process_cwd(pid_t pid) {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  return ec ? std::string{} : p.string();
}

/// What the pid in a postmaster.pid is now. A lock is cleared only when its owner is proven not
/// to be a server on this directory: gone, exited (a zombie), or working elsewhere.
enum class lock_owner { gone, zombie, other_process, this_server, unknown };

lock_owner classify_lock_owner(pid_t pid, const std::string& cluster_dir) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return lock_owner::gone;
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) return lock_owner::unknown;
  // "pid (comm) S ...": the state follows the last ')', since comm may hold one.
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return lock_owner::unknown;
  char state = stat[close + 2];
  if (state == 'Z' || state == 'X') return lock_owner::zombie;
  std::error_code ec;
  auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec) return lock_owner::unknown;
  return cwd == cluster_dir ? lock_owner::this_server : lock_owner::other_process;
}

/// Every PostgreSQL process chdirs into its data directory, so this finds a cluster's
/// processes, including backends a killed postmaster left behind.
std::vector<pid_t> processes_in(const std::string& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    auto pid = static_cast<pid_t>(std::atol(name.c_str()));
    if (pid != getpid() && process_cwd(pid) == dir) out.push_back(pid);
  }
  return out;
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::optional<account> server_account_for_root() {
  if (geteuid() != 0) return std::nullopt;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || !found)
    fail(
        "nyxgate runs as root and PostgreSQL refuses to, but there is no 'postgres' user to run "
        "it as; create one (useradd --system postgres), run nyxgate as another user, or set "
        "database.url");
  if (pw.pw_uid == 0) fail("the 'postgres' user has uid 0; PostgreSQL refuses to run as root");
  account a;
  a.uid = pw.pw_uid;
  a.gid = pw.pw_gid;
  int n = 32;
  for (;;) {
    a.groups.resize(static_cast<std::size_t>(n));
    int got = n;
    if (getgrouplist(pw.pw_name, pw.pw_gid, a.groups.data(), &got) >= 0) {
      a.groups.resize(static_cast<std::size_t>(got));
      break;
    }
    n = std::max(got, n * 2);
  }
  return a;
}

/// Async-signal-safe part of a child: become `a`. Returns false on failure.
bool become(const account& a) {
  return setgroups(a.groups.size(), a.groups.data()) == 0 && setgid(a.gid) == 0 &&
         setuid(a.uid) == 0;
}

void chown_to(const std::string& path, const std::optional<account>& a) {
  if (a && ::chown(path.c_str(), a->uid, a->gid) != 0)
    fail("cannot chown " + path + " to the postgres user: " + errno_text(errno));
}

/// PostgreSQL runs as `a`, so every directory above its cluster must be searchable by `a`. We
/// check as `a` itself in a child (that also honours ACLs) and never chmod system directories.
void check_traversable(const std::string& dir, const account& a) {
  std::vector<std::string> prefixes;
  fs::path acc;
  for (const auto& part : fs::path(dir)) {
    acc /= part;
    prefixes.push_back(acc.string());
  }
  if (prefixes.size() > 250) prefixes.erase(prefixes.begin(), prefixes.end() - 250);
  pid_t pid = fork();
  if (pid < 0) fail("fork: " + errno_text(errno));
  if (pid == 0) {
    if (!become(a)) _exit(255);
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      if (access(prefixes[i].c_str(), X_OK) != 0) _exit(static_cast<int>(i + 1));
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
    fail("cannot switch to the postgres user to check access to " + dir);
  if (int code = WEXITSTATUS(status); code != 0)
    fail("directory " + prefixes[static_cast<std::size_t>(code - 1)] +
         " is not traversable by the postgres user (uid " + std::to_string(a.uid) +
         "); nyxgate runs as root and PostgreSQL refuses to, so it runs as 'postgres', which needs "
         "search (x) permission on every parent of the data directory. Grant it (e.g. chmod o+x " +
         prefixes[static_cast<std::size_t>(code - 1)] + ") or choose another server.data_dir");
}

bool has_server_binaries(const fs::path& dir) {
  return access((dir / "postgres").c_str(), X_OK) == 0 &&
         access((dir / "initdb").c_str(), X_OK) == 0;
}

/// Prefers the major version the cluster was made with (a newer server can't open it).
std::string find_bin_dir(const std::string& configured, const std::string& cluster_dir) {
  if (!configured.empty()) {
    if (!has_server_binaries(configured))
      fail("no executable initdb and postgres in " + configured);
    return configured;
  }
  std::ifstream version_file(cluster_dir + "/PG_VERSION");
  std::string version;
  if (version_file >> version && has_server_binaries("/usr/lib/postgresql/" + version + "/bin"))
    return "/usr/lib/postgresql/" + version + "/bin";
  std::optional<std::pair<int, std::string>> best;
  std::error_code ec;
  for (fs::directory_iterator it("/usr/lib/postgresql", ec), end; !ec && it != end;
       it.increment(ec)) {
    int major = std::atoi(it->path().filename().c_str());
    auto bin = it->path() / "bin";
    if (major > 0 && has_server_binaries(bin) && (!best || major > best->first))
      best = {major, bin.string()};
  }
  if (best) return best->second;
  if (has_server_binaries("/usr/local/pgsql/bin")) return "/usr/local/pgsql/bin";
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      std::string dir{rest.substr(0, colon)};
      if (!dir.empty() && has_server_binaries(dir)) return dir;
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  fail(
      "PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin, "
      "/usr/local/pgsql/bin or PATH; install the postgresql package or set database.url");
}

/// A value for libpq's conninfo, quoted only when it has to be.
std::string conninfo_value(std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \t\n'\\") == std::string_view::npos;
  if (plain) return std::string{v};
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string socket_conninfo(std::string_view socket_dir, int port, std::string_view database) {
  return "host=" + conninfo_value(socket_dir) + " port=" + std::to_string(port) +
         " user=" + superuser + " dbname=" + conninfo_value(database);
}

struct spawn_spec {
  std::string program;
  std::vector<std::string> args;
  std::string log_file;
  std::optional<account> user;
};

/// fork + exec with privileges dropped and a parent-death signal; runs on the spawner thread.
pid_t fork_exec(const spawn_spec& s) {
  // Everything the child needs is built here: after fork() it may only make
  // async-signal-safe calls.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(s.program.c_str()));
  for (const auto& a : s.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C"};
  if (const char* tz = std::getenv("TZ")) env_strings.push_back(std::string{"TZ="} + tz);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int log_fd = open(s.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) fail("cannot open " + s.log_file + ": " + errno_text(errno));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    fail("cannot open /dev/null: " + errno_text(errno));
  }
  const pid_t parent = getpid();
  const account* user = s.user ? &*s.user : nullptr;
  pid_t pid = fork();
  if (pid == 0) {
    auto die = [log_fd](const char* why) {
      if (write(log_fd, why, std::strlen(why)) < 0) _exit(127);
      _exit(127);
    };
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2})
      sigaction(sig, &dfl, nullptr);
    // Own session: a Ctrl-C at nyxgate's terminal must not stop the database under it while
    // nyxgate drains; nyxgate stops it last.
    setsid();
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
      die("nyxgate: dup2 failed\n");
    syscall(SYS_close_range, 3U, ~0U, 0U);  // drop inherited descriptors; fine if unsupported
    if (user && !become(*user)) die("nyxgate: cannot switch to the postgres user\n");
    // setuid() clears the parent-death signal, so it is set only now; then getppid() closes the
    // race with a parent that died before prctl.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) die("nyxgate: prctl failed\n");
    if (getppid() != parent) _exit(1);
    if (chdir("/") != 0) die("nyxgate: chdir failed\n");
    execve(argv[0], argv.data(), envp.data());
    die("nyxgate: exec of the PostgreSQL binary failed\n");
  }
  int fork_errno = errno;
  close(null_fd);
  close(log_fd);
  if (pid < 0) fail("fork: " + errno_text(fork_errno));
  return pid;
}

/// Forks children from one thread that lives as long as the process: PR_SET_PDEATHSIG fires
/// when the forking *thread* exits, so forking from a short-lived caller thread would stop the
/// database with it.
class spawner {
 public:
  static spawner& instance() {
    static auto* s = new spawner;  // never destroyed: its thread runs until process exit
    return *s;
  }

  pid_t spawn(const spawn_spec& spec) {
    std::packaged_task<pid_t()> task([&spec] { return fork_exec(spec); });
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
    return result.get();
  }

 private:
  spawner() {
    std::thread([this] { run(); }).detach();
  }

  [[noreturn]] void run() {
    for (;;) {
      std::packaged_task<pid_t()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<pid_t()>> tasks_;
};

void chown_tree(const std::string& root, const account& a) {
  chown_to(root, a);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (lchown(it->path().c_str(), a.uid, a.gid) != 0)
      fail("cannot chown " + it->path().string() + ": " + errno_text(errno));
}

}  // namespace

std::unique_ptr<embedded_postgres> embedded_postgres::start(embedded_options opts) {
  if (opts.data_dir.empty()) fail("data_dir is empty");
  if (opts.database.empty()) fail("database name is empty");
  if (opts.port == 0) fail("port must not be 0");
  // Constructed first so that a failure half-way stops whatever was started.
  std::unique_ptr<embedded_postgres> self(new embedded_postgres(std::move(opts)));
  self->open_data_dir();
  if (!fs::exists(self->cluster_dir_ + "/PG_VERSION")) self->initialise_cluster();
  self->prepare_cluster_dir();
  self->choose_socket_dir();
  self->launch();
  return self;
}

std::optional<std::string> embedded_postgres::conninfo_of_running(const embedded_options& opts) {
  std::error_code ec;
  auto dir = fs::canonical(fs::absolute(opts.data_dir), ec);
  if (ec) return std::nullopt;
  auto lock_path = (dir / "postgres.lock").string();
  int fd = open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  auto holder = read_pid_file(lock_path);
  close(fd);  // also releases the lock, if it was taken
  if (free) return std::nullopt;
  // postmaster.pid: pid, data directory, start time, port, socket directory, listen address,
  // shared memory key, status.
  auto pid_file = (dir / "postgres" / "postmaster.pid").string();
  std::ifstream in(pid_file);
  std::vector<std::string> lines;
  for (std::string line; lines.size() < 8 && std::getline(in, line);) lines.push_back(line);
  auto who = holder ? std::to_string(*holder) : std::string{"?"};
  if (lines.size() < 8 || lines[7].find("ready") == std::string::npos)
    fail("data directory " + dir.string() + " in use by pid " + who +
         ", whose PostgreSQL is not accepting connections now; try again");
  return socket_conninfo(lines[4], std::atoi(lines[3].c_str()), opts.database);
}

embedded_postgres::embedded_postgres(embedded_options opts) : opts_(std::move(opts)) {}

embedded_postgres::~embedded_postgres() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  if (socket_dir_is_temporary_) fs::remove_all(socket_dir_, ec);
  if (lock_fd_ >= 0) close(lock_fd_);
}

void embedded_postgres::open_data_dir() {
  std::error_code ec;
  fs::path dir = fs::absolute(opts_.data_dir);
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create data directory " + dir.string() + ": " + ec.message());
  data_dir_ = fs::canonical(dir).string();
  cluster_dir_ = data_dir_ + "/postgres";
  log_file_ = data_dir_ + "/postgres.log";

  // One owner per data directory, also across the window where initdb runs and no postmaster
  // exists yet.
  auto lock_path = data_dir_ + "/postgres.lock";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) fail("cannot open " + lock_path + ": " + errno_text(errno));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    auto holder = read_pid_file(lock_path);
    fail("data directory " + data_dir_ + " in use by pid " +
         (holder ? std::to_string(*holder) : std::string{"?"}) + " (another nyxgate)");
  }
  auto me = std::to_string(getpid()) + "\n";
  if (ftruncate(lock_fd_, 0) != 0 || write(lock_fd_, me.data(), me.size()) < 0) {
    // The pid is only for the error message above.
  }

  account_ = server_account_for_root();
  if (account_) check_traversable(data_dir_, *account_);
  bin_dir_ = find_bin_dir(opts_.bin_dir, cluster_dir_);
}

void embedded_postgres::initialise_cluster() {
  std::error_code ec;
  if (fs::is_directory(cluster_dir_, ec) && !fs::is_empty(cluster_dir_, ec))
    fail(cluster_dir_ +
         " exists but is not a PostgreSQL cluster (no PG_VERSION); move it away to start afresh");
  fs::remove(cluster_dir_, ec);
  // initdb writes into a scratch directory renamed into place when complete, so an interrupted
  // first start is retried instead of leaving a half-made cluster behind.
  auto scratch = data_dir_ + "/postgres.initdb";
  fs::remove_all(scratch, ec);
  if (!fs::create_directory(scratch, ec) || ec)
    fail("cannot create " + scratch + ": " + ec.message());
  fs::permissions(scratch, fs::perms::owner_all, ec);
  chown_to(scratch, account_);

  telemetry::log_info("embedded postgres initialising", {{"data_dir", data_dir_}});
  spawn_spec spec{bin_dir_ + "/initdb",
                  {"-D", scratch, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C"},
                  log_file_,
                  account_};
  if (opts_.fast_unsafe) spec.args.push_back("--no-sync");
  pid_t pid = spawner::instance().spawn(spec);
  int status = 0;
  if (!wait_exit(pid, initdb_timeout, &status)) {
    kill(pid, SIGKILL);
    wait_exit(pid, immediate_shutdown_grace);
    fail(with_log("initdb did not finish within 5 minutes", log_file_));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(with_log("initdb failed (" + describe_status(status) + ")", log_file_));
  fs::rename(scratch, cluster_dir_, ec);
  if (ec) fail("cannot rename " + scratch + " to " + cluster_dir_ + ": " + ec.message());
}

void embedded_postgres::prepare_cluster_dir() {
  struct stat st {};
  if (stat(cluster_dir_.c_str(), &st) != 0)
    fail("cannot stat " + cluster_dir_ + ": " + errno_text(errno));
  if (account_ && st.st_uid != account_->uid) {
    telemetry::log_warn("embedded postgres: handing the cluster to the postgres user",
                        {{"cluster_dir", cluster_dir_}});
    chown_tree(cluster_dir_, *account_);
  }
  // postgres refuses a group- or world-accessible data directory.
  if (chmod(cluster_dir_.c_str(), 0700) != 0)
    fail("cannot chmod " + cluster_dir_ + ": " + errno_text(errno));
}

void embedded_postgres::choose_socket_dir() {
  auto socket_file = "/.s.PGSQL." + std::to_string(opts_.port);
  auto preferred = cluster_dir_ + "/run";
  if (preferred.size() + socket_file.size() <= max_socket_path) {
    std::error_code ec;
    fs::create_directory(preferred, ec);
    if (ec) fail("cannot create " + preferred + ": " + ec.message());
    if (chmod(preferred.c_str(), 0700) != 0)
      fail("cannot chmod " + preferred + ": " + errno_text(errno));
    chown_to(preferred, account_);
    socket_dir_ = preferred;
    return;
  }
  // A unix socket path is limited to 107 bytes, too short for a deep data directory: then the
  // socket goes to a private directory under /tmp, owned by the server's user, kept for this
  // object's lifetime (restart() keeps the conninfo) and removed by the destructor.
  std::string templ = "/tmp/nyxgate-pg-XXXXXX";
  if (!mkdtemp(templ.data())) fail("mkdtemp " + templ + ": " + errno_text(errno));
  socket_dir_ = templ;
  socket_dir_is_temporary_ = true;
  chown_to(socket_dir_, account_);
  telemetry::log_info("embedded postgres: data directory too deep for a unix socket path",
                      {{"data_dir", data_dir_}, {"socket_dir", socket_dir_}});
}

std::string embedded_postgres::conninfo() const {
  return conninfo_for(opts_.database);
}

std::string embedded_postgres::conninfo_for(std::string_view database) const {
  return socket_conninfo(socket_dir_, opts_.port, database);
}

void embedded_postgres::clear_stale_server() {
  auto pid_file = cluster_dir_ + "/postmaster.pid";
  auto owner = read_pid_file(pid_file);
  if (!owner) return;
  auto holder = classify_lock_owner(*owner, cluster_dir_);
  if (holder == lock_owner::this_server)
    fail("data directory " + cluster_dir_ + " in use by pid " + std::to_string(*owner) +
         " (a PostgreSQL server is running there)");
  if (holder == lock_owner::unknown)
    fail("data directory " + cluster_dir_ + " is locked by pid " + std::to_string(*owner) +
         ", which is alive and whose working directory cannot be read, so it may be its server; "
         "if it is not, remove " +
         pid_file);
  // A stale file from a crashed server. Its backends exit as soon as they notice the postmaster
  // is gone; until then postgres' shared-memory interlock (rightly) refuses to start.
  auto deadline = clock::now() + leftover_grace;
  for (auto left = processes_in(cluster_dir_); !left.empty(); left = processes_in(cluster_dir_)) {
    if (clock::now() >= deadline) {
      std::string pids;
      for (auto p : left) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
      fail("data directory " + cluster_dir_ + " in use by pid " + pids +
           " (left over from a crashed server; stop them first)");
    }
    std::this_thread::sleep_for(poll_interval);
  }
  // postgres deletes a stale pid file whose pid is gone by itself. A zombie, or a pid reused by
  // an unrelated process (common in containers), looks alive to it, so that file goes here.
  if (holder != lock_owner::gone) {
    std::error_code ec;
    fs::remove(pid_file, ec);
    fs::remove(socket_dir_ + "/.s.PGSQL." + std::to_string(opts_.port) + ".lock", ec);
    telemetry::log_warn(
        "embedded postgres: removed a stale postmaster.pid",
        {{"cluster_dir", cluster_dir_},
         {"stale_pid", *owner},
         {"owner", holder == lock_owner::zombie ? "exited, not reaped" : "another process"}});
  }
}

void embedded_postgres::launch() {
  auto deadline = clock::now() + opts_.startup_timeout;
  clear_stale_server();
  auto socket_dirs = socket_dir_;
  if (socket_dirs.find_first_of(", \"") != std::string::npos) {
    if (socket_dirs.find('"') != std::string::npos)
      fail("socket directory " + socket_dirs + " contains a double quote");
    socket_dirs = '"' + socket_dirs + '"';
  }
  spawn_spec spec{
      bin_dir_ + "/postgres",
      {"-D", cluster_dir_, "-c", "listen_addresses=", "-c",
       "unix_socket_directories=" + socket_dirs, "-c", "port=" + std::to_string(opts_.port), "-c",
       "max_connections=200", "-c", "shared_buffers=32MB", "-c", "dynamic_shared_memory_type=posix",
       // The server's own log rotates: one file per weekday under <cluster>/log,
       // overwritten a week later, so it never grows without bound. Only what
       // precedes the log collector's start goes to log_file_.
       "-c", "logging_collector=on", "-c", "log_directory=log", "-c",
       "log_filename=postgresql-%a.log", "-c", "log_rotation_age=1d", "-c", "log_rotation_size=0",
       "-c", "log_truncate_on_rotation=on"},
      log_file_,
      account_};
  if (opts_.fast_unsafe) {
    for (const char* s : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
      spec.args.push_back("-c");
      spec.args.push_back(s);
    }
  }
  pid_ = spawner::instance().spawn(spec);
  try {
    wait_until_ready(deadline);
    ensure_database();
  } catch (...) {
    kill_now();
    throw;
  }
  telemetry::log_info("embedded postgres started",
                      {{"data_dir", data_dir_}, {"pid", pid_.load()}, {"socket_dir", socket_dir_}});
}

void embedded_postgres::wait_until_ready(clock::time_point deadline) {
  auto ping = conninfo_for("postgres") + " connect_timeout=2";
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      fail(with_log("server exited during startup (" + describe_status(status) + ")", log_file_));
    }
    if (PQping(ping.c_str()) == PQPING_OK) return;
    if (clock::now() >= deadline)
      fail(with_log("server did not accept connections within " +
                        std::to_string(opts_.startup_timeout.count()) + " s",
                    log_file_));
    std::this_thread::sleep_for(poll_interval);
  }
}

void embedded_postgres::ensure_database() {
  if (opts_.database == "postgres") return;
  auto info = conninfo_for("postgres") + " connect_timeout=10";
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(info.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    fail(std::string{"cannot connect to create database: "} +
         (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  const char* params[] = {opts_.database.c_str()};
  std::unique_ptr<PGresult, decltype(&PQclear)> found(
      PQexecParams(conn.get(), "SELECT 1 FROM pg_database WHERE datname = $1", 1, nullptr, params,
                   nullptr, nullptr, 0),
      &PQclear);
  if (PQresultStatus(found.get()) != PGRES_TUPLES_OK)
    fail(std::string{"cannot look up database: "} + PQerrorMessage(conn.get()));
  if (PQntuples(found.get()) > 0) return;
  std::unique_ptr<char, decltype(&PQfreemem)> ident(
      PQescapeIdentifier(conn.get(), opts_.database.data(), opts_.database.size()), &PQfreemem);
  if (!ident) fail(std::string{"bad database name: "} + PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> created(
      PQexec(conn.get(), ("CREATE DATABASE " + std::string{ident.get()}).c_str()), &PQclear);
  if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
    if (state && std::string_view{state} == "42P04") return;  // created concurrently
    fail("cannot create database " + opts_.database + ": " + PQerrorMessage(conn.get()));
  }
  telemetry::log_info("embedded postgres created database", {{"database", opts_.database}});
}

void embedded_postgres::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGQUIT);
  if (!wait_exit(pid_, immediate_shutdown_grace)) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, immediate_shutdown_grace);
  }
  pid_ = -1;
}

void embedded_postgres::stop() {
  if (pid_ <= 0) return;
  pid_t pid = pid_;
  kill(pid_, SIGINT);  // fast shutdown: roll back open transactions, checkpoint, exit
  if (wait_exit(pid_, fast_shutdown_grace)) {
    pid_ = -1;
  } else {
    telemetry::log_warn("embedded postgres did not stop within 30 s; killing it",
                        {{"pid", pid_.load()}});
    kill_now();
  }
  telemetry::log_info("embedded postgres stopped", {{"data_dir", data_dir_}, {"pid", pid}});
}

std::optional<std::string> embedded_postgres::reap_if_exited() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return std::nullopt;
  pid_ = -1;
  return r == pid_t{-1} ? std::string{"reaped elsewhere"} : describe_status(status);
}

void embedded_postgres::restart() {
  stop();
  launch();
}

}  // namespace nyxgate::storage
