//! Arguments checked the way the existing package checks them, so that a
//! wrong type gives its `ValueError` rather than PyO3's `TypeError`: a flag
//! that must be a `bool`, and counts that must be `int`s (`bool` included,
//! as `isinstance(True, int)`).

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

/// A `bool` argument, or the note that something else was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// A `bool`.
    Is(bool),
    /// Anything else.
    NotBool,
}

impl FromPyObject<'_, '_> for Flag {
    type Error = PyErr;

    fn extract(ob: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        Ok(match ob.cast::<PyBool>() {
            Ok(b) => Flag::Is(b.is_true()),
            Err(_) => Flag::NotBool,
        })
    }
}

/// An `int` argument, or the note that something else was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// An `int` that fits in an `i64`.
    Int(i64),
    /// An `int` above `i64::MAX`.
    Huge,
    /// An `int` below `i64::MIN`.
    HugeNegative,
    /// Anything else.
    NotInt,
    /// Not given: a signature's default, never extracted from an object.
    Default,
}

impl FromPyObject<'_, '_> for Count {
    type Error = PyErr;

    fn extract(ob: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        let Ok(int) = ob.cast::<PyInt>() else {
            return Ok(Count::NotInt);
        };
        Ok(match int.extract::<i64>() {
            Ok(v) => Count::Int(v),
            Err(_) if int.gt(0)? => Count::Huge,
            Err(_) => Count::HugeNegative,
        })
    }
}
