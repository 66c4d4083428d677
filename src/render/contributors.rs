//! `contributors` in the template context: the list, with `first_time` read from the
//! history only when something reads it.
//!
//! In a template, each contributor is an object whose `name` and `email` are at hand and
//! whose `first_time` asks the changelog's shared [`FirstTime`]: the first read walks the
//! history before the release once, later reads reuse the answer, and a template that never
//! reads it (nor prints a whole contributor, nor `tojson`s one) never pays for it.
//! Serialised anywhere else (`notes --output json`), the list is complete: `first_time`
//! is read first.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{ErrorKind, Value};
use serde::{Serialize, Serializer};

use crate::changelog::{Contributor, FirstTime};

/// The release's contributors, one per person, bots left out; `first_time` marks new ones.
#[derive(Debug, Clone, Default)]
pub struct Contributors {
    list: Vec<Contributor>,
    /// Where `first_time` comes from; `None`: from the list itself.
    first_time: Option<FirstTime>,
}

impl Contributors {
    /// `list`, whose `first_time` fields `first_time` overrides when given.
    #[must_use]
    pub fn new(list: Vec<Contributor>, first_time: Option<FirstTime>) -> Self {
        Self { list, first_time }
    }

    /// How many.
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether `first_time` has been read from the history (or needed no reading).
    #[must_use]
    pub fn first_time_known(&self) -> bool {
        self.first_time.as_ref().is_none_or(FirstTime::is_known)
    }

    /// The contributors with `first_time` set, reading the history if it was not yet.
    ///
    /// # Errors
    /// The history before the release cannot be read.
    pub fn resolved(&self) -> anyhow::Result<Vec<Contributor>> {
        let mut list = self.list.clone();
        if let Some(first_time) = &self.first_time {
            for (c, new) in list.iter_mut().zip(first_time.get()?) {
                c.first_time = *new;
            }
        }
        Ok(list)
    }

    /// Why reading `first_time` failed, once it was read.
    pub(super) fn failure(&self) -> Option<anyhow::Error> {
        let first_time = self.first_time.as_ref()?;
        if !first_time.is_known() {
            return None;
        }
        first_time.get().err()
    }

    fn first_time_of(&self, index: usize) -> Value {
        let Some(first_time) = &self.first_time else {
            return Value::from(self.list[index].first_time);
        };
        match first_time.get() {
            Ok(values) => Value::from(values.get(index).copied().unwrap_or(false)),
            Err(e) => Value::from(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("first_time: {e:#}"),
            )),
        }
    }
}

impl Serialize for Contributors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Turned into a template value: lazy objects; serialised anywhere else: complete.
        if minijinja::value::serializing_for_value() {
            return Value::from_object(List(Arc::new(self.clone()))).serialize(serializer);
        }
        self.resolved()
            .map_err(|e| serde::ser::Error::custom(format!("{e:#}")))?
            .serialize(serializer)
    }
}

/// `contributors` in a template.
#[derive(Debug)]
struct List(Arc<Contributors>);

impl Object for List {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = key.as_usize()?;
        (index < self.0.list.len()).then(|| {
            Value::from_object(Item {
                all: Arc::clone(&self.0),
                index,
            })
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.list.len())
    }
}

/// One contributor in a template: `name`, `email`, `first_time`, as the serialised
/// [`Contributor`] has them.
#[derive(Debug)]
struct Item {
    all: Arc<Contributors>,
    index: usize,
}

impl Object for Item {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let c = &self.all.list[self.index];
        match key.as_str()? {
            "name" => Some(Value::from(c.name.as_str())),
            "email" => Some(Value::from(c.email.as_str())),
            "first_time" => Some(self.all.first_time_of(self.index)),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["name", "email", "first_time"])
    }
}
