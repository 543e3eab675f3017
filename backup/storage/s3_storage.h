#pragma once
// The s3 driver: objects in an S3-compatible bucket (s3_client.h). Small
// objects are one PUT; larger ones a multipart upload of part_size parts,
// parts_in_flight of them uploading at once, so memory stays at about
// part_size x (parts_in_flight + 1) whatever the object's size. Each part
// carries its SHA-256, which the store checks; the stored size is checked
// after the upload; an upload that fails or is abandoned is aborted.

#include <memory>

#include "backup/storage/storage.h"

namespace dbkeeper {

std::unique_ptr<Storage> open_s3_storage(const StorageSettings& settings);

}  // namespace dbkeeper
