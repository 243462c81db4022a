package io.distributedsqlite.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.distributedsqlite.cluster.MembershipView.Member;
import io.distributedsqlite.cluster.MembershipView.State;
import io.distributedsqlite.cluster.ViewIdentity.Agreement;
import io.distributedsqlite.config.NodeConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The membership view: built from the configuration, its fingerprint, and how two views compare. */
class MembershipViewTest {

  private static NodeConfig config(String nodeId, int size, int rf, String peers) {
    Map<String, String> env = new HashMap<>();
    env.put("NODE_ID", nodeId);
    env.put("CLUSTER_SIZE", Integer.toString(size));
    env.put("REPLICATION_FACTOR", Integer.toString(rf));
    if (peers != null) {
      env.put("PEERS", peers);
    }
    return NodeConfig.fromEnvironment(env);
  }

  private static MembershipView local(int size, int rf) {
    StringBuilder peers = new StringBuilder();
    for (int i = 0; i < size; i++) {
      peers.append(i == 0 ? "" : ",").append(i).append("=127.0.0.1:").append(9000 + i);
    }
    return MembershipView.initial(config("1", size, rf, peers.toString()));
  }

  @Test
  void theConfigurationFormsTheFirstViewWithEveryMemberNormalAtEpochOne() {
    MembershipView v = local(3, 2);
    assertEquals(1, v.epoch());
    assertEquals(2, v.replicationFactor());
    assertEquals(List.of(
        new Member(0, "0", "127.0.0.1:9000", State.NORMAL),
        new Member(1, "1", "127.0.0.1:9001", State.NORMAL),
        new Member(2, "2", "127.0.0.1:9002", State.NORMAL)), v.members());
  }

  @Test
  void statefulSetMembersAreNamedLikeTheirPodsAndAddressedByDns() {
    MembershipView v = MembershipView.initial(config("distributed-sqlite-nodes-1", 3, 2, null));
    assertEquals(List.of("distributed-sqlite-nodes-0", "distributed-sqlite-nodes-1", "distributed-sqlite-nodes-2"), v.names());
    assertEquals("distributed-sqlite-nodes-2.distributed-sqlite-headless.default.svc.cluster.local:8080",
        v.members().get(2).address());
    assertTrue(v.members().stream().allMatch(m -> m.state() == State.NORMAL));
  }

  @Test
  void theFingerprintIsStableAndIgnoresAddresses() {
    MembershipView v = local(3, 2);
    assertEquals(v.fingerprint(), local(3, 2).fingerprint());
    assertEquals(16, v.fingerprint().length());
    assertEquals(v, MembershipView.fromJson(v.toJson().encode()));
    assertEquals(v.fingerprint(), MembershipView.fromJson(v.toJson().encode()).fingerprint());
    MembershipView elsewhere = MembershipView.initial(config("1", 3, 2, "0=a:1,1=b:2,2=c:3"));
    assertEquals(v.fingerprint(), elsewhere.fingerprint());
  }

  @Test
  void theFingerprintChangesWithMembersStatesAndReplicationFactor() {
    MembershipView v = local(3, 2);
    assertNotEquals(v.fingerprint(), local(4, 2).fingerprint(), "one more member");
    assertNotEquals(v.fingerprint(), local(3, 3).fingerprint(), "another RF");
    List<Member> leaving = new ArrayList<>(v.members());
    Member last = leaving.get(2);
    leaving.set(2, new Member(last.ordinal(), last.name(), last.address(), State.LEAVING));
    assertNotEquals(v.fingerprint(), new MembershipView(1, 2, leaving).fingerprint(), "a member leaving");
    List<Member> renamed = new ArrayList<>(v.members());
    renamed.set(2, new Member(2, "other-2", last.address(), State.NORMAL));
    assertEquals(v.fingerprint(), new MembershipView(1, 2, renamed).fingerprint(),
        "names are not part of it: each node derives them from its own NODE_ID");
  }

  @Test
  void viewsCompareAsSameDifferingOlderOrNewer() {
    ViewIdentity mine = local(3, 2).identity();
    assertEquals(Agreement.SAME, mine.compare(local(3, 2).identity()));
    assertNull(mine.disagreement(local(3, 2).identity()));
    assertEquals(Agreement.DIFFERS, mine.compare(local(3, 3).identity()), "another RF");
    assertEquals(Agreement.DIFFERS, mine.compare(local(4, 2).identity()), "other members at the same epoch");
    ViewIdentity older = new ViewIdentity(0, 2, 3, "00000000000000aa");
    ViewIdentity newer = new ViewIdentity(2, 2, 4, "00000000000000bb");
    assertEquals(Agreement.PEER_OLDER, mine.compare(older));
    assertEquals(Agreement.PEER_NEWER, mine.compare(newer));
    assertEquals(Agreement.DIFFERS, mine.compare(new ViewIdentity(2, 3, 4, "00000000000000bb")), "another RF at any epoch");
  }

  @Test
  void theDownReasonSaysExactlyWhatDiffers() {
    ViewIdentity mine = local(3, 2).identity();
    assertEquals("membership differs: peer has RF=3 and 4 members at epoch 1; this node RF=2 and 3 members at epoch 1",
        mine.disagreement(local(4, 3).identity()));
    ViewIdentity sameShape = new ViewIdentity(1, 2, 3, "0123456789abcdef");
    assertEquals("membership differs: peer has RF=2 and 3 members at epoch 1 (fingerprint 0123456789abcdef); this node RF=2 "
        + "and 3 members at epoch 1 (fingerprint " + mine.fingerprint() + ")", mine.disagreement(sameShape));
    assertEquals("membership view older: peer is at epoch 0, this node at epoch 1",
        mine.disagreement(new ViewIdentity(0, 2, 3, mine.fingerprint())));
    assertEquals("membership view newer: peer is at epoch 5, this node at epoch 1 is behind and does not coordinate with it "
        + "until it has that view", mine.disagreement(new ViewIdentity(5, 2, 3, mine.fingerprint())));
    assertEquals("membership differs: sender has RF=3 and 3 members at epoch 1; this node RF=2 and 3 members at epoch 1",
        mine.disagreement(local(3, 3).identity(), "sender"));
  }

  @Test
  void theIdentityTravelsInAHeaderAndInTheProbeAnswer() {
    ViewIdentity id = local(3, 2).identity();
    assertEquals(id, ViewIdentity.parseHeader(id.header()));
    assertEquals(id, ViewIdentity.fromJson(id.toJson()));
    assertNull(ViewIdentity.fromJson(null));
    assertNull(ViewIdentity.fromJson(new io.vertx.core.json.JsonObject().put("epoch", 1)));
    for (String bad : List.of("", "epoch=1", "epoch=x;rf=2;members=3;fingerprint=ab", "epoch=1;rf=2;members=3;fingerprint=XYZ")) {
      assertThrows(IllegalArgumentException.class, () -> ViewIdentity.parseHeader(bad), bad);
    }
  }

  @Test
  void aStoredViewContradictsOtherMembersOrReplicationFactorButNotOtherNamesOrAddresses() {
    MembershipView stored = local(3, 2);
    assertNull(stored.contradiction(MembershipView.initial(config("1", 3, 2, "0=a:1,1=b:2,2=c:3"))));
    String rf = stored.contradiction(local(3, 3));
    assertNotNull(rf);
    assertTrue(rf.contains("RF=2, 3 members [0, 1, 2], epoch 1") && rf.contains("REPLICATION_FACTOR=3, CLUSTER_SIZE=3"), rf);
    assertNotNull(stored.contradiction(local(4, 2)));
    MembershipView podNames = MembershipView.initial(config("distributed-sqlite-nodes-1", 3, 2, "0=a:1,1=b:2,2=c:3"));
    assertNull(stored.contradiction(podNames), "bare ordinals and pod names are the same members");
    MembershipView running = stored.withNamesAndAddressesOf(podNames);
    assertEquals("a:1", running.members().get(0).address());
    assertEquals("distributed-sqlite-nodes-0", running.members().get(0).name());
    assertThrows(IllegalArgumentException.class, () -> MembershipView.fromJson("{\"epoch\":1}"));
  }
}
