#include "backup/storage/aws_signature.h"

#include <gtest/gtest.h>

namespace dbkeeper {
namespace {

constexpr const char* k_empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The example in AWS's "Signature Calculations for the Authorization
// Header" (GET Object with a Range header).
TEST(AwsSignature, matches_the_published_get_object_example) {
  AwsRequestToSign request;
  request.method = "GET";
  request.canonical_uri = "/test.txt";
  request.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                     {"range", "bytes=0-9"},
                     {"x-amz-content-sha256", k_empty_hash},
                     {"x-amz-date", "20130524T000000Z"}};
  request.payload_hash = k_empty_hash;
  request.amz_date = "20130524T000000Z";
  request.region = "us-east-1";
  EXPECT_EQ(aws_authorization(request, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// The published GET Bucket (list objects) example: a query string.
TEST(AwsSignature, matches_the_published_list_objects_example) {
  AwsRequestToSign request;
  request.method = "GET";
  request.canonical_uri = "/";
  request.canonical_query = aws_canonical_query({{"max-keys", "2"}, {"prefix", "J"}});
  request.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                     {"x-amz-content-sha256", k_empty_hash},
                     {"x-amz-date", "20130524T000000Z"}};
  request.payload_hash = k_empty_hash;
  request.amz_date = "20130524T000000Z";
  request.region = "us-east-1";
  EXPECT_EQ(request.canonical_query, "max-keys=2&prefix=J");
  EXPECT_NE(aws_authorization(request, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
                .find("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            std::string::npos);
}

TEST(AwsSignature, encodes_keys_and_queries_as_sigv4_wants) {
  EXPECT_EQ(aws_uri_encode("shop/backups/a b+c~é", true), "shop/backups/a%20b%2Bc~%C3%A9");
  EXPECT_EQ(aws_uri_encode("dir/", false), "dir%2F");
  // Sorted, and a key without value still carries "=".
  EXPECT_EQ(aws_canonical_query({{"uploads", ""}, {"prefix", "dir/"}, {"list-type", "2"}}),
            "list-type=2&prefix=dir%2F&uploads=");
}

}  // namespace
}  // namespace dbkeeper
