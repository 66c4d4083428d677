//! `commits`, `groups` and `breaking_changes` in the template context: lists that read the
//! changelog's commits where they are, turning a commit's field into a template value when
//! a template reads it.
//!
//! A template of a 2,500-commit release reads a few fields of each commit; serialising
//! every field of every commit into a map, once per template string of the manifest, was
//! most of the rendering's cost. Here a commit is a template object whose fields give the
//! same values serialisation gave (same names, same order, same JSON). Serialised anywhere
//! else (`notes --output json`), the lists are plain: every commit, every field.

use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde::{Serialize, Serializer};

use crate::changelog::{Changelog, Commit};

/// A list of the changelog's commits, newest first: all of them, the breaking changes or
/// a group's.
#[derive(Debug, Clone, Default)]
pub struct Commits {
    /// `None`: no commits.
    log: Option<Arc<Changelog>>,
    list: Which,
}

#[derive(Debug, Clone, Copy, Default)]
enum Which {
    #[default]
    All,
    Breaking,
    Group(usize),
}

impl Commits {
    fn of(log: &Arc<Changelog>, list: Which) -> Self {
        Self {
            log: Some(Arc::clone(log)),
            list,
        }
    }

    /// The commits.
    #[must_use]
    pub fn as_slice(&self) -> &[Commit] {
        let Some(log) = &self.log else { return &[] };
        match self.list {
            Which::All => &log.commits,
            Which::Breaking => &log.breaking_changes,
            Which::Group(i) => log.groups.get(i).map_or(&[], |g| g.commits.as_slice()),
        }
    }

    /// How many.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl Serialize for Commits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if minijinja::value::serializing_for_value() {
            return Value::from_object(self.clone()).serialize(serializer);
        }
        self.as_slice().serialize(serializer)
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

/// The changelog's lists, reading its commits where they are.
pub(super) struct Shared {
    pub commits: Commits,
    pub groups: Vec<GroupContext>,
    pub breaking_changes: Commits,
}

impl Shared {
    /// `commits`, `groups` and `breaking_changes` of `log`, without copying a commit.
    pub(super) fn new(log: &Arc<Changelog>) -> Self {
        let groups = log
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| GroupContext {
                title: g.title.clone(),
                collapsed: g.collapsed,
                commits: Commits::of(log, Which::Group(i)),
            })
            .collect();
        Self {
            commits: Commits::of(log, Which::All),
            groups,
            breaking_changes: Commits::of(log, Which::Breaking),
        }
    }
}

impl Object for Commits {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = key.as_usize()?;
        (index < self.len()).then(|| {
            Value::from_object(Item {
                list: Arc::clone(self),
                index,
            })
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.len())
    }
}

/// One commit of a list in a template.
#[derive(Debug)]
struct Item {
    list: Arc<Commits>,
    index: usize,
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

impl Object for Item {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        field(&self.list.as_slice()[self.index], key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(FIELDS)
    }
}

/// A commit's field as serialising the commit gives it.
fn field(c: &Commit, key: &str) -> Option<Value> {
    Some(match key {
        "id" => text(&c.id),
        "short_id" => text(&c.short_id),
        "subject" => text(&c.subject),
        "description" => text(&c.description),
        "body" => text(&c.body),
        "type" => maybe(c.r#type.as_ref()),
        "scope" => maybe(c.scope.as_ref()),
        "breaking" => Value::from(c.breaking),
        "breaking_description" => maybe(c.breaking_description.as_ref()),
        "footers" => Value::from_serialize(&c.footers),
        "author" => Value::from_serialize(&c.author),
        "co_authors" => Value::from_serialize(&c.co_authors),
        "date" => Value::from_serialize(c.date),
        "group" => text(&c.group),
        "merge" => Value::from(c.merge),
        "revert" => maybe(c.revert.as_ref()),
        "reverts" => Value::from_serialize(&c.reverts),
        "url" => maybe(c.url.as_ref()),
        "refs" => Value::from_serialize(&c.refs),
        "mr" => Value::from_serialize(&c.mr),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::{FirstTime, Footer, Group, MergeRequest, Person, Ref, RefKind};

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

    fn changelog(commits: Vec<Commit>, groups: Vec<Group>, breaking: Vec<Commit>) -> Changelog {
        Changelog {
            tag: Some("v1.0.0".into()),
            tag_exists: true,
            version: "1.0.0".into(),
            previous_tag: None,
            commit: "a".repeat(40),
            date: chrono::DateTime::UNIX_EPOCH,
            commits,
            groups,
            breaking_changes: breaking,
            contributors: Vec::new(),
            first_time: FirstTime::known(Vec::new()),
            shallow_warning: None,
            warnings: Vec::new(),
        }
    }

    /// Every way a template can see a commit gives what serialising it gave.
    #[test]
    fn a_commit_object_reads_as_its_serialisation() {
        let c = commit("a", "Features");
        let shared = Shared::new(&Arc::new(changelog(
            vec![c.clone()],
            Vec::new(),
            Vec::new(),
        )));
        let object = Value::from_serialize(&shared.commits)
            .get_item_by_index(0)
            .unwrap();
        let plain = Value::from_serialize(&c);
        let serialised = serde_json::to_value(&c).unwrap();
        let mut keys: Vec<&str> = serialised
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(fields, keys, "FIELDS lists every serialised field");
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

    /// Lists read as the serialised lists did, and serialise whole outside templates.
    #[test]
    fn lists_read_as_serialised_lists() {
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
        let breaking = vec![commits[0].clone()];
        let log = Arc::new(changelog(commits.clone(), groups.clone(), breaking.clone()));
        let shared = Shared::new(&log);

        let lazy = minijinja::context! {
            commits => Value::from_serialize(&shared.commits),
            groups => Value::from_serialize(&shared.groups),
            breaking_changes => Value::from_serialize(&shared.breaking_changes),
            empty => Value::from_serialize(Commits::default()),
        };
        let plain = minijinja::context! {
            commits => Value::from_serialize(&commits),
            groups => Value::from_serialize(&groups),
            breaking_changes => Value::from_serialize(&breaking),
            empty => Value::from_serialize(Vec::<Commit>::new()),
        };
        let env = minijinja::Environment::new();
        for source in [
            "{{ commits | tojson }}",
            "{{ groups | tojson }}",
            "{{ breaking_changes | tojson }} {{ empty | tojson }} {{ empty | length }} {% if empty %}x{% endif %}",
            "{{ commits | length }} {{ commits[-1].id }} {{ (commits | last).id }} {{ (commits | first).short_id }} {{ commits[5] is undefined }}",
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
        assert_eq!(shared.breaking_changes.as_slice(), breaking.as_slice());
        assert!(Commits::default().is_empty());
        assert_eq!(shared.commits.len(), 2);
    }
}
