#include "agent/open_repository.h"

namespace dbkeeper {

Repository open_repository(const Config& config) {
  std::map<std::string, std::shared_ptr<Storage>> opened;  // by repository name
  std::map<std::string, BackupStore> stores;               // by target
  for (const auto& target : config.targets) {
    if (target.primary_repository.empty()) continue;
    const auto* settings = config.find_repository(target.primary_repository);
    if (!settings)
      throw Error(ErrorKind::config, "target '" + target.name + "' makes its backups in repository '" +
                                         target.primary_repository + "', which is not configured");
    auto& storage = opened[settings->name];
    if (!storage) storage = open_storage(settings->storage);
    stores[target.name] = BackupStore{settings->name, storage};
  }
  return Repository(config.agent.repository, std::move(stores));
}

}  // namespace dbkeeper
