"""Why HNSW recall falls on norm-augmented MIPS data (docs/scale.md, "Approximate top-K").

Draws items and users like examples/ann_scale.rs --data clustered (same distribution, numpy RNG),
applies the augmentation of src/cf/ann.rs and prints where items and queries lie.
Run: /work/venv-peers/bin/python benches/peers/ann_geometry.py (numpy only).
"""
import numpy as np
rng=np.random.default_rng(1)
d=64; n=100000; q=200
C=rng.standard_normal((256,d))
def draw(m):
    c=C[rng.integers(0,256,m)]; s=rng.uniform(0.5,2,(m,1))
    return s*(c+0.5*rng.standard_normal((m,d)))
U=draw(q); I=draw(n); b=rng.uniform(0,0.5,n)
X=np.hstack([I,b[:,None]]); R=np.linalg.norm(X,axis=1).max()
Xn=X/R; extra=np.sqrt(np.maximum(0,1-(Xn**2).sum(1)))
A=np.hstack([Xn,extra[:,None]])
Q=np.hstack([U,np.ones((q,1))]); Q/=np.linalg.norm(Q,axis=1,keepdims=True); Q=np.hstack([Q,np.zeros((q,1))])
print("norm/R quantiles 1,50,99%:",np.percentile(np.linalg.norm(Xn,axis=1),[1,50,99]).round(3))
print("extra coord quantiles 1,50,99%:",np.percentile(extra,[1,50,99]).round(3))
S=Q@A.T
top=np.argsort(-S,axis=1)[:,:10]
print("cos(query, its exact top-1) median:",np.median(S[np.arange(q),top[:,0]]).round(3), " top-10 median:",np.median(np.take_along_axis(S,top,1)).round(3))
print("norm/R of exact top-10 items, median:",np.median(np.linalg.norm(Xn[top.ravel()],axis=1)).round(3))
# item-item: nearest neighbour of sample items in augmented space vs in direction only
idx=rng.choice(n,300,replace=False)
SA=A[idx]@A.T; SA[np.arange(300),idx]=-9
nn=SA.argmax(1)
D=I/np.linalg.norm(I,axis=1,keepdims=True)
same_dir=(D[idx]*D[nn]).sum(1)
Dd=D[idx]@D.T; Dd[np.arange(300),idx]=-9
print("augmented-space nearest item: cos of directions, median:",np.median(same_dir).round(3)," (true nearest by direction median:",np.median(Dd.max(1)).round(3),")")
small=idx[np.linalg.norm(Xn[idx],axis=1)<np.median(np.linalg.norm(Xn,axis=1))]
print("cos between two random small-norm items in augmented space, median:",np.median((A[small[:100]]*A[small[100:200]] if len(small)>=200 else A[small[:50]]*A[small[50:100]]).sum(1)).round(3))
print("cos between two random items by direction, median:",np.median((D[idx[:150]]*D[idx[150:]]).sum(1)).round(3))
