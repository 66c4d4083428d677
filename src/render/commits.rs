//! `commits`, `groups` and `breaking_changes` in the template context: each commit is built
//! once, shared by the lists it is in, and turned into template values field by field, when
//! a template reads the field.
//!
//! A template of a 2,500-commit release reads a few fields of each commit; serialising
//! every field of every commit into a map, once per template string of the manifest, was
//! most of the rendering's cost. Here a commit is a template object whose fields give the
//! same values serialisation gave (same names, same order, same JSON), and a list is an
//! object over the shared commits. Serialised anywhere else (`notes --output json`), the
//! lists are plain: every commit, every field.

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde::{Serialize, Serializer};

use crate::changelog::{Commit, Group};

/// A list of commits, newest first.
#[derive(Debug, Clone, Default)]
pub struct Commits(Arc<[Arc<Commit>]>);

impl Commits {
    /// How many.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The commits.
    pub fn iter(&self) -> impl Iterator<Item = &Commit> {
        self.0.iter().map(AsRef::as_ref)
    }
}

impl Serialize for Commits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if minijinja::value::serializing_for_value() {
            return Value::from_object(List(self.0.clone())).serialize(serializer);
        }
        serializer.collect_seq(self.0.iter().map(AsRef::as_ref))
    }
}

/// A group in the template context.
#[derive(Debug, Clone, Serialize)]
pub struct GroupContext {
    /// Heading in the notes.
    pub title: String,
    /// Shown folded (`<details>`) by the default template.
    pub collapsed: bool,
    /// The group's commits, newest first.
    pub commits: Commits,
}

/// The release's lists, sharing one copy of each commit.
pub(super) struct Shared {
    pub commits: Commits,
    pub groups: Vec<GroupContext>,
    pub breaking_changes: Commits,
}

impl Shared {
    /// `commits`, `groups` and `breaking_changes` of a changelog. A commit of a group or of
    /// the breaking changes that is the same as one of `commits` (same id, same fields) is
    /// that commit, not a copy.
    pub(super) fn new(commits: &[Commit], groups: &[Group], breaking: &[Commit]) -> Self {
        let all: Vec<Arc<Commit>> = commits.iter().cloned().map(Arc::new).collect();
        let by_id: HashMap<&str, &Arc<Commit>> = all.iter().map(|c| (c.id.as_str(), c)).collect();
        let share = |list: &[Commit]| -> Commits {
            Commits(
                list.iter()
                    .map(|c| match by_id.get(c.id.as_str()) {
                        Some(shared) if ***shared == *c => Arc::clone(shared),
                        _ => Arc::new(c.clone()),
                    })
                    .collect(),
            )
        };
        let groups = groups
            .iter()
            .map(|g| GroupContext {
                title: g.title.clone(),
                collapsed: g.collapsed,
                commits: share(&g.commits),
            })
            .collect();
        let breaking_changes = share(breaking);
        Self {
            commits: Commits(all.into()),
            groups,
            breaking_changes,
        }
    }
}

/// A list of commits in a template.
#[derive(Debug)]
struct List(Arc<[Arc<Commit>]>);

impl Object for List {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let commit = self.0.get(key.as_usize()?)?;
        Some(Value::from_dyn_object(Arc::clone(commit)))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }
}

/// The fields of [`Commit`] as it serialises, in its order.
const FIELDS: &[&str] = &[
    "id",
    "short_id",
    "subject",
    "description",
    "body",
    "type",
    "scope",
    "breaking",
    "breaking_description",
    "footers",
    "author",
    "co_authors",
    "date",
    "group",
    "merge",
    "revert",
    "reverts",
    "url",
    "refs",
    "mr",
];

fn text(s: &str) -> Value {
    Value::from(s)
}

fn maybe(s: Option<&String>) -> Value {
    s.map_or(Value::from(()), |s| Value::from(s.as_str()))
}

impl Object for Commit {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "id" => text(&self.id),
            "short_id" => text(&self.short_id),
            "subject" => text(&self.subject),
            "description" => text(&self.description),
            "body" => text(&self.body),
            "type" => maybe(self.r#type.as_ref()),
            "scope" => maybe(self.scope.as_ref()),
            "breaking" => Value::from(self.breaking),
            "breaking_description" => maybe(self.breaking_description.as_ref()),
            "footers" => Value::from_serialize(&self.footers),
            "author" => Value::from_serialize(&self.author),
            "co_authors" => Value::from_serialize(&self.co_authors),
            "date" => Value::from_serialize(self.date),
            "group" => text(&self.group),
            "merge" => Value::from(self.merge),
            "revert" => maybe(self.revert.as_ref()),
            "reverts" => Value::from_serialize(&self.reverts),
            "url" => maybe(self.url.as_ref()),
            "refs" => Value::from_serialize(&self.refs),
            "mr" => Value::from_serialize(&self.mr),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(FIELDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::{Footer, MergeRequest, Person, Ref, RefKind};

    fn commit(id: &str, group: &str) -> Commit {
        Commit {
            id: id.repeat(40),
            short_id: id.repeat(7),
            subject: "feat(api)!: add x (#12)".into(),
            description: "add x".into(),
            body: "Body \"quoted\" <b>\n\nRefs: #3".into(),
            r#type: Some("feat".into()),
            scope: Some("api".into()),
            breaking: true,
            breaking_description: None,
            footers: vec![Footer {
                token: "Refs".into(),
                value: "#3".into(),
            }],
            author: Person {
                name: "Ada".into(),
                email: "ada@example.com".into(),
            },
            co_authors: Vec::new(),
            date: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            group: group.into(),
            merge: false,
            revert: None,
            reverts: vec!["b".repeat(40)],
            url: Some("https://example.com/c".into()),
            refs: vec![Ref {
                kind: RefKind::Pr,
                number: 12,
                project: None,
                text: "#12".into(),
                url: None,
                closes: false,
                squash: true,
            }],
            mr: Some(MergeRequest {
                kind: RefKind::Mr,
                number: 4,
                title: "Add x".into(),
                text: "!4".into(),
                project: Some("group/app".into()),
                url: None,
                merge_commit: "c".repeat(40),
                refs: Vec::new(),
            }),
        }
    }

    /// Every way a template can see a commit gives what serialising it gave.
    #[test]
    fn a_commit_object_reads_as_its_serialisation() {
        let c = commit("a", "Features");
        let object = Value::from_dyn_object(Arc::new(c.clone()));
        let plain = Value::from_serialize(&c);
        let serialised = serde_json::to_value(&c).unwrap();
        let keys: Vec<&str> = serialised
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(fields, sorted, "FIELDS lists every serialised field");
        for key in FIELDS {
            assert_eq!(
                object.get_attr(key).unwrap(),
                plain.get_attr(key).unwrap(),
                "{key}"
            );
        }
        let env = minijinja::Environment::new();
        for source in [
            "{{ c | tojson }}",
            "{{ c }}",
            "{% for k, v in c | items %}{{ k }}={{ v }};{% endfor %}",
            "{{ c.author.name }} {{ c.refs[0].kind }} {{ c.mr.title }} {{ c.date }} {{ c.scope is none }} {{ c.breaking_description is none }}",
            "{{ c | length }} {{ c.missing is undefined }}",
        ] {
            let t = env.template_from_str(source).unwrap();
            assert_eq!(
                t.render(minijinja::context! { c => object.clone() })
                    .unwrap(),
                t.render(minijinja::context! { c => plain.clone() })
                    .unwrap(),
                "{source}"
            );
        }
    }

    /// Lists read as the serialised lists did, share their commits, and serialise whole
    /// outside templates.
    #[test]
    fn lists_share_commits_and_read_as_serialised_lists() {
        let commits = vec![commit("a", "Features"), commit("b", "Fixes")];
        let groups = vec![
            Group {
                title: "Features".into(),
                collapsed: false,
                commits: vec![commits[0].clone()],
            },
            Group {
                title: "Fixes".into(),
                collapsed: true,
                commits: vec![commits[1].clone()],
            },
        ];
        // Not the same as its entry in `commits`: kept as it is.
        let mut other = commits[1].clone();
        other.group = "Breaking".into();
        let shared = Shared::new(&commits, &groups, &[commits[0].clone(), other.clone()]);
        assert!(Arc::ptr_eq(
            &shared.commits.0[0],
            &shared.groups[0].commits.0[0]
        ));
        assert!(Arc::ptr_eq(
            &shared.commits.0[0],
            &shared.breaking_changes.0[0]
        ));
        assert_eq!(*shared.breaking_changes.0[1], other);

        let lazy = minijinja::context! {
            commits => Value::from_serialize(&shared.commits),
            groups => Value::from_serialize(&shared.groups),
        };
        let plain = minijinja::context! {
            commits => Value::from_serialize(&commits),
            groups => Value::from_serialize(&groups),
        };
        let env = minijinja::Environment::new();
        for source in [
            "{{ commits | tojson }}",
            "{{ groups | tojson }}",
            "{{ commits | length }} {{ commits[-1].id }} {{ (commits | last).id }} {{ (commits | first).short_id }}",
            "{% for c in commits | reverse %}{{ c.short_id }}{% endfor %}",
            "{{ commits | map(attribute='group') | join(',') }} {{ commits | selectattr('breaking') | list | length }}",
            "{% for g, cs in commits | groupby('group') %}{{ g }}:{{ cs | length }};{% endfor %}",
            "{{ commits[:1] | map(attribute='id') | list }} {{ commits | sort(attribute='group', reverse=true) | map(attribute='short_id') | join }}",
            "{% for g in groups %}{{ g.title }}{{ g.collapsed }}{% for c in g.commits %}{{ loop.index }}{{ c.description }}{% endfor %}{% endfor %}",
            "{% if commits %}some{% endif %}{% if not groups[0].commits %}none{% endif %}",
        ] {
            let t = env.template_from_str(source).unwrap();
            assert_eq!(
                t.render(&lazy).unwrap(),
                t.render(&plain).unwrap(),
                "{source}"
            );
        }
        assert_eq!(
            serde_json::to_value(&shared.groups).unwrap(),
            serde_json::to_value(&groups).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&shared.commits).unwrap(),
            serde_json::to_value(&commits).unwrap()
        );
        let empty = Commits::default();
        assert!(empty.is_empty());
        assert_eq!(shared.commits.len(), 2);
        assert_eq!(shared.commits.iter().count(), 2);
    }
}
