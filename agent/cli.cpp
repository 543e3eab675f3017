#include "agent/cli.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/daemon.h"
#include "agent/invocation.h"
#include "agent/logging.h"
#include "agent/version.h"
#include "core/spelling_suggestion.h"
#include "core/stop_request.h"

namespace po = boost::program_options;

namespace dbkeeper {
namespace {

using Handler = int (*)(const Invocation&);

struct Command {
  std::string_view name;
  std::string_view usage;  // after "dbkeeper <name>"
  std::string_view summary;
  void (*add_options)(po::options_description&, po::positional_options_description&);
  Handler handler;
};

void require_choice(const Invocation& invocation, const char* option, std::initializer_list<std::string_view> choices) {
  if (!invocation.options.count(option)) return;
  const auto& value = invocation.options[option].as<std::string>();
  for (auto choice : choices)
    if (choice == value) return;
  std::string known;
  for (auto choice : choices) known += (known.empty() ? "" : ", ") + std::string(choice);
  throw UsageError("--" + std::string(option) + " must be one of " + known + ", not '" + value + "'");
}

int handle_run(const Invocation& invocation) {
  return run_daemon(invocation.config);
}

int handle_check_config(const Invocation& invocation) {
  std::cout << describe_config(invocation.config);
  return k_exit_success;
}

int handle_backup(const Invocation& invocation) {
  require_choice(invocation, "type", {"full", "incremental", "log"});
  return command_backup(invocation);
}

void no_options(po::options_description&, po::positional_options_description&) {}

void target_argument(po::options_description& options, po::positional_options_description& positional, bool required) {
  auto value = po::value<std::string>()->value_name("TARGET");
  if (required) value->required();
  options.add_options()("target", value, "target name from the configuration");
  positional.add("target", 1);
}

const std::array<Command, 10> k_commands{{
    {"run", "", "run the daemon: collectors, scheduler and the /metrics endpoint", no_options, handle_run},
    {"check-config", "", "validate the configuration and print a summary", no_options, handle_check_config},
    {"check", "[TARGET] [--json]",
     "prove each target ready for what it schedules: connection, privileges, settings, tools, repository",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, false);
       o.add_options()("json", po::bool_switch(), "print a JSON array");
     },
     command_check},
    {"backup", "TARGET --type full|incremental|log", "take one backup now",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, true);
       o.add_options()("type", po::value<std::string>()->required()->value_name("TYPE"),
                       "backup type: full, incremental or log");
     },
     handle_backup},
    {"list", "[TARGET] [--json] [--repository NAME]", "list backups in the repository, oldest first",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, false);
       o.add_options()("json", po::bool_switch(), "print a JSON array")(
           "repository", po::value<std::string>()->value_name("NAME"), "list the copies in this repository");
     },
     command_list},
    {"verify", "TARGET [--backup ID|latest] [--restore]", "check a backup's checksums, optionally by restoring it",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, true);
       o.add_options()("backup", po::value<std::string>()->default_value("latest")->value_name("ID"),
                       "backup id, or latest")("restore", po::bool_switch(),
                                               "restore into a scratch database and compare with the manifest")(
           "repository", po::value<std::string>()->value_name("NAME"),
           "verify the copy in this repository (downloaded and checked again)");
     },
     command_verify},
    {"restore", "TARGET --backup ID|latest --to-db NAME [--until TIME] [--force [--yes]]",
     "restore a backup into a database, optionally to a point in time",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, true);
       o.add_options()("backup", po::value<std::string>()->required()->value_name("ID"), "backup id, or latest")(
           "to-db", po::value<std::string>()->required()->value_name("NAME"), "database to restore into")(
           "until", po::value<std::string>()->value_name("TIME"), "point in time to recover to")(
           "database", po::value<std::string>()->value_name("DB"),
           "which database of the backup (needed when it holds several)")(
           "force", po::bool_switch(),
           "replace NAME if it exists: the backup is restored under a temporary name, checked, and swapped in; "
           "the current database is kept as NAME_before_ID")("yes", po::bool_switch(),
                                                             "with --force: do not ask to type NAME (for scripts)")(
           "repository", po::value<std::string>()->value_name("NAME"),
           "restore from this repository's copy (default: the local one, then each copy, in order)");
     },
     command_restore},
    {"queries", "TARGET [--limit N] [--json]", "the slowest statements with their text, by mean latency",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, true);
       o.add_options()("limit", po::value<int>()->value_name("N"), "how many (default: queries.top_n)")(
           "json", po::bool_switch(), "print a JSON array");
     },
     command_queries},
    {"prune", "[TARGET] [--dry-run]", "apply the retention policy",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, false);
       o.add_options()("dry-run", po::bool_switch(), "list what would be deleted, delete nothing");
     },
     command_prune},
    {"copy", "[TARGET] [--repository NAME]", "copy complete backups and archived logs to the other repositories",
     [](po::options_description& o, po::positional_options_description& p) {
       target_argument(o, p, false);
       o.add_options()("repository", po::value<std::string>()->value_name("NAME"), "only this repository");
     },
     command_copy},
}};

void print_usage(std::ostream& out) {
  out << "usage: dbkeeper COMMAND [OPTIONS]\n\n"
         "Keeps MySQL/MariaDB and PostgreSQL databases recoverable and observable.\n\ncommands:\n";
  for (const auto& command : k_commands)
    out << "  " << command.name << std::string(15 - command.name.size(), ' ') << command.summary << "\n";
  out << "\nglobal options:\n  --version      print the version\n  --help         this text\n\n"
         "Run 'dbkeeper COMMAND --help' for the options of a command.\n";
}

po::options_description common_options() {
  po::options_description options("options");
  options.add_options()("config,c", po::value<std::string>()->default_value(k_default_config_path)->value_name("FILE"),
                        "configuration file")("log-level", po::value<std::string>()->value_name("LEVEL"),
                                              "trace, debug, info, warn, error (overrides agent.log_level)")(
      "log-format", po::value<std::string>()->value_name("FORMAT"), "text or json (overrides agent.log_format)")(
      "help,h", "show this help");
  return options;
}

int dispatch(const Command& command, const std::vector<std::string>& arguments) {
  po::options_description options = common_options();
  po::positional_options_description positional;
  command.add_options(options, positional);

  Invocation invocation;
  invocation.command = std::string(command.name);
  try {
    po::store(po::command_line_parser(arguments).options(options).positional(positional).run(), invocation.options);
    if (invocation.options.count("help")) {
      std::cout << "usage: dbkeeper " << command.name << (command.usage.empty() ? "" : " ") << command.usage
                << " [--config FILE]\n\n"
                << command.summary << "\n\n"
                << options;
      return k_exit_success;
    }
    po::notify(invocation.options);
  } catch (const po::error& e) {
    std::cerr << "dbkeeper " << command.name << ": " << e.what() << "\nsee 'dbkeeper " << command.name << " --help'\n";
    return k_exit_usage;
  }

  const auto& path = invocation.options["config"].as<std::string>();
  try {
    invocation.config = load_config(path);
  } catch (const ConfigInvalid& e) {
    for (const auto& problem : e.problems()) std::cerr << problem << "\n";
    std::cerr << "dbkeeper " << command.name << ": configuration is invalid (" << e.problems().size()
              << (e.problems().size() == 1 ? " problem)\n" : " problems)\n");
    return k_exit_usage;
  }

  try {
    std::string level = invocation.options.count("log-level") ? invocation.options["log-level"].as<std::string>()
                                                              : invocation.config.agent.log_level;
    std::string format = invocation.options.count("log-format") ? invocation.options["log-format"].as<std::string>()
                                                                : invocation.config.agent.log_format;
    configure_logging(level, format);
  } catch (const Error& e) {
    std::cerr << "dbkeeper " << command.name << ": " << e.what() << "\n";
    return k_exit_usage;
  }

  // One-shot commands turn SIGINT/SIGTERM into a stop request, so temp
  // directories, scratch databases and child processes are cleaned up.
  std::optional<StopSignalWatcher> stop_watcher;
  if (command.name != "run") stop_watcher.emplace();
  try {
    return command.handler(invocation);
  } catch (const UsageError& e) {
    std::cerr << "dbkeeper " << command.name << ": " << e.what() << "\n";
    return k_exit_usage;
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", command.name, e.what());
    return k_exit_failure;
  }
}

}  // namespace

const Target& require_target(const Invocation& invocation) {
  const auto& name = invocation.options["target"].as<std::string>();
  const Target* target = invocation.config.find_target(name);
  if (target == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& t : invocation.config.targets) names.push_back(t.name);
    std::string message = "target '" + name + "' is not configured in " + invocation.config.path.string();
    if (auto suggestion = closest_match(name, names)) message += "; did you mean '" + *suggestion + "'?";
    throw UsageError(message);
  }
  return *target;
}

int run_cli(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  if (arguments.empty()) {
    print_usage(std::cerr);
    return k_exit_usage;
  }
  const std::string& first = arguments.front();
  if (first == "--version" || first == "-V" || first == "version") {
    std::cout << "dbkeeper " << k_version << " (revision " << k_revision << ")\n";
    return k_exit_success;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return k_exit_success;
  }
  for (const auto& command : k_commands) {
    if (command.name == first) return dispatch(command, {arguments.begin() + 1, arguments.end()});
  }
  std::vector<std::string_view> names;
  for (const auto& command : k_commands) names.push_back(command.name);
  std::cerr << "dbkeeper: unknown command '" << first << "'";
  if (auto suggestion = closest_match(first, names)) std::cerr << "; did you mean '" << *suggestion << "'?";
  std::cerr << "\nsee 'dbkeeper --help'\n";
  return k_exit_usage;
}

}  // namespace dbkeeper
