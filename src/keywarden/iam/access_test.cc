#include "keywarden/iam/access.h"

#include <string>

#include "gtest/gtest.h"

namespace keywarden::iam {
namespace {

using Op = Operation;

// keyprotect-api.md §15.1 transcribed: for each operation, which of
// Reader, ReaderPlus, Writer, Manager, KeyPurge, KmipAdapterManager allow
// it. Every role x operation pair below is checked against RoleAllows and
// against ReachOf.
struct Row {
  Op op;
  const char* allowed;  // R, +, W, M, P, K in role order; '.' = not allowed
};
constexpr Row kTable[] = {
    {Op::kCreateKey, "..WM.."},        {Op::kGetKeyPayload, ".+WM.."},
    {Op::kGetKeyMetadata, "R+WM.."},   {Op::kListKeys, "R+WM.K"},
    {Op::kWrap, "R+WM.."},             {Op::kUnwrap, "R+WM.."},
    {Op::kRewrap, "R+WM.."},           {Op::kRotate, "..WM.."},
    {Op::kEnableDisable, "...M.."},    {Op::kSetKeyForDeletion, "..WM.."},
    {Op::kDeleteKey, "...M.."},        {Op::kRestoreKey, "...M.."},
    {Op::kPatchKey, "...M.."},         {Op::kSync, "..WM.."},
    {Op::kPurgeKey, "....P."},         {Op::kCreateKeyRing, "..WM.."},
    {Op::kListKeyRings, "R+WM.K"},     {Op::kDeleteKeyRing, "...M.."},
    {Op::kPolicies, "...M.."},         {Op::kImportToken, "..WM.."},
    {Op::kListRegistrations, "R+WM.."}, {Op::kKmip, "...M.K"},
    {Op::kCreateAlias, "..WM.."},      {Op::kDeleteAlias, "...M.."},
    {Op::kManageGrants, "...M.."},
};
constexpr Role kRoles[] = {Role::kReader,  Role::kReaderPlus,
                           Role::kWriter,  Role::kManager,
                           Role::kKeyPurge, Role::kKmipAdapterManager};

TEST(RoleTableTest, EveryOperationHasARow) {
  EXPECT_EQ(std::size(kTable), static_cast<size_t>(Op::kCount));
}

TEST(RoleTableTest, RoleAllowsMatchesKeyProtect) {
  for (const Row& row : kTable) {
    for (size_t r = 0; r < std::size(kRoles); ++r) {
      bool expected = row.allowed[r] != '.';
      EXPECT_EQ(RoleAllows(kRoles[r], row.op), expected)
          << RoleName(kRoles[r]) << " x " << OperationName(row.op);
    }
  }
}

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";

class AccessIndexTest : public ::testing::Test {
 protected:
  AccessIndexTest() {
    index_.PutInstance({std::string(kInstance), "i", absl::Now(), "t"});
  }
  void Grant(const std::string& who, Role role, Scope scope) {
    AccessPolicyRecord p;
    p.id = "p" + std::to_string(++n_);
    p.principal_id = who;
    p.scope = std::move(scope);
    p.roles = {role};
    index_.PutPolicy(p);
  }
  Scope Instance() { return {std::string(kInstance), {}, {}}; }
  AccessIndex index_;
  int n_ = 0;
};

TEST_F(AccessIndexTest, ReachFollowsTheTableForEveryRole) {
  for (size_t r = 0; r < std::size(kRoles); ++r) {
    std::string who = "user-" + std::to_string(r);
    Grant(who, kRoles[r], Instance());
    Principal p{who, false};
    for (const Row& row : kTable) {
      EXPECT_EQ(index_.ReachOf(p, row.op, kInstance).whole_instance,
                row.allowed[r] != '.')
          << RoleName(kRoles[r]) << " x " << OperationName(row.op);
    }
  }
}

TEST_F(AccessIndexTest, AdminHoldsEverythingButKeyPurge) {
  Principal admin{"user-admin", true};
  for (const Row& row : kTable) {
    EXPECT_EQ(index_.ReachOf(admin, row.op, kInstance).whole_instance,
              row.op != Op::kPurgeKey)
        << OperationName(row.op);
  }
}

TEST_F(AccessIndexTest, UnknownInstanceReachesNothing) {
  Principal admin{"user-admin", true};
  EXPECT_TRUE(index_.ReachOf(admin, Op::kWrap, "other").None());
}

TEST_F(AccessIndexTest, ScopesNarrowTheReach) {
  Grant("u", Role::kReader, {std::string(kInstance), "ring-a", {}});
  Grant("u", Role::kReader, {std::string(kInstance), {}, "key-1"});
  Reach reach = index_.ReachOf({"u", false}, Op::kWrap, kInstance);
  EXPECT_FALSE(reach.whole_instance);
  EXPECT_TRUE(reach.Covers("ring-a", "key-9"));
  EXPECT_TRUE(reach.Covers("ring-b", "key-1"));
  EXPECT_FALSE(reach.Covers("ring-b", "key-2"));
  EXPECT_TRUE(reach.ListsRing("ring-a"));
  EXPECT_FALSE(reach.ListsRing("ring-b"));
}

TEST_F(AccessIndexTest, ServiceAuthorizationsMatchByIdOrType) {
  ServiceAuthorizationRecord by_type;
  by_type.id = "a1";
  by_type.source_service_type = "object-storage";
  by_type.target = Instance();
  index_.PutAuthorization(by_type);
  Principal cos{"serviceid-1", false, true, "object-storage"};
  Principal db{"serviceid-2", false, true, "databases"};
  Principal user{"user-x", false, false, "object-storage"};
  Reach r = index_.ReachOf(cos, Op::kWrap, kInstance);
  EXPECT_TRUE(r.whole_instance);
  EXPECT_TRUE(r.by_authorization.whole_instance);
  EXPECT_TRUE(index_.ReachOf(cos, Op::kRotate, kInstance).None());  // Reader
  EXPECT_TRUE(index_.ReachOf(db, Op::kWrap, kInstance).None());
  EXPECT_TRUE(index_.ReachOf(user, Op::kWrap, kInstance).None());

  ServiceAuthorizationRecord by_id;
  by_id.id = "a2";
  by_id.source_service_id = "serviceid-2";
  by_id.target = Instance();
  index_.PutAuthorization(by_id);
  EXPECT_FALSE(index_.ReachOf(db, Op::kWrap, kInstance).None());
  index_.RemoveAuthorization("a2");
  EXPECT_TRUE(index_.ReachOf(db, Op::kWrap, kInstance).None());
}

TEST_F(AccessIndexTest, AuthorizationsNeverDeleteMoveOrManageGrants) {
  ServiceAuthorizationRecord a;
  a.id = "a1";
  a.source_service_id = "serviceid-1";
  a.target = Instance();
  a.role = Role::kManager;
  index_.PutAuthorization(a);
  Principal svc{"serviceid-1", false, true, "x"};
  for (Op op : {Op::kDeleteKey, Op::kRestoreKey, Op::kPatchKey,
                Op::kDeleteKeyRing, Op::kManageGrants}) {
    EXPECT_TRUE(index_.ReachOf(svc, op, kInstance).None()) << OperationName(op);
  }
  EXPECT_TRUE(index_.ReachOf(svc, Op::kEnableDisable, kInstance).whole_instance);
  // A policy of the same service on one key reaches that key only, and
  // none of it counts as granted by the authorization.
  Grant("serviceid-1", Role::kManager, {std::string(kInstance), {}, "key-1"});
  Reach del = index_.ReachOf(svc, Op::kDeleteKey, kInstance);
  EXPECT_TRUE(del.Covers("default", "key-1"));
  EXPECT_FALSE(del.Covers("default", "key-2"));
  EXPECT_TRUE(del.by_authorization.None());
}

TEST_F(AccessIndexTest, PolicyRolesOnFollowScopesAndIgnoreAuthorizations) {
  Grant("u", Role::kWriter, {std::string(kInstance), "ring-a", {}});
  Grant("u", Role::kManager, {std::string(kInstance), {}, "key-1"});
  Principal u{"u", false};
  auto roles = [&](Scope s, std::string_view ring) {
    return index_.PolicyRolesOn(u, s, ring);
  };
  EXPECT_EQ(roles({std::string(kInstance), {}, "key-1"}, "ring-a").size(), 2u);
  EXPECT_EQ(roles({std::string(kInstance), {}, "key-2"}, "ring-a"),
            std::vector<Role>{Role::kWriter});
  EXPECT_TRUE(roles({std::string(kInstance), {}, "key-2"}, "").empty());
  EXPECT_TRUE(roles(Instance(), "").empty());
  EXPECT_TRUE(RoleImplies(Role::kManager, Role::kKmipAdapterManager));
  EXPECT_TRUE(RoleImplies(Role::kWriter, Role::kReaderPlus));
  EXPECT_FALSE(RoleImplies(Role::kReaderPlus, Role::kWriter));
  EXPECT_FALSE(RoleImplies(Role::kManager, Role::kKeyPurge));
}

TEST_F(AccessIndexTest, RemovingAPrincipalDropsItsKeysAndPolicies) {
  index_.PutPrincipal({"user-a", PrincipalKind::kUser, "a", "", false,
                       absl::Now(), "t"});
  ApiKeyRecord key;
  key.id = "k1";
  key.principal_id = "user-a";
  key.prefix = "kwk_00000001";
  index_.PutApiKey(key);
  Grant("user-a", Role::kManager, Instance());
  EXPECT_TRUE(index_.FindApiKeyByPrefix("kwk_00000001").has_value());
  index_.RemovePrincipal("user-a");
  EXPECT_FALSE(index_.ResolvePrincipal("user-a").has_value());
  EXPECT_FALSE(index_.FindApiKeyByPrefix("kwk_00000001").has_value());
  EXPECT_TRUE(index_.ReachOf({"user-a", false}, Op::kWrap, kInstance).None());
}

TEST_F(AccessIndexTest, RemovingAnInstanceDropsItsGrants) {
  Grant("u", Role::kManager, Instance());
  index_.RemoveInstance(kInstance);
  index_.PutInstance({std::string(kInstance), "again", absl::Now(), "t"});
  EXPECT_TRUE(index_.ReachOf({"u", false}, Op::kWrap, kInstance).None());
}

}  // namespace
}  // namespace keywarden::iam
